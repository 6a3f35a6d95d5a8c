"""Benchmark the pydas client against the embedded server, with baselines from the same run.

Run from the repository root::

    python benchmarks/bench_client.py             # full run: 1,000 small files, 1 GiB file
    python benchmarks/bench_client.py --quick     # small sizes, seconds
    python benchmarks/bench_client.py --size-mib 256 --files 500 --jobs 8 --no-netns

Figures (the server runs as ``python -m pydas.testing --json`` in a child process):

1. per-call latency of ``Communicator.get_server_version()`` vs a bare
   ``requests.Session().post(url + '/api/json?method=midas.version')`` (target: <= 1.15x);
2. small files (1-16 KiB, random) up and down with ``pydas.upload``/``pydas.download`` vs
   a naive client that behaves like the original pydas: a new connection per call, one file
   at a time, the whole file in memory, item.create + generatetoken + perform per file, and
   item.download per file (target: pydas >= 1.5x faster); both checked byte for byte;
   pydas with jobs=1 too, to tell keep-alive from parallelism; CPU time per file of this
   process and of the server, which does not depend on how busy the host is;
3. one big file up and down with pydas (the high-level API and the drivers, each in a child
   process) vs curl speaking the same protocol (target: >= 0.8x curl's throughput), the
   CPU time of both, and the pydas child's peak RSS growth (target: < 100 MiB);
4. figures 1-2 again over a link with 20 ms round-trip delay: the server in a network
   namespace behind a veth pair with ``netem`` delay (10.200.77.0/24, only inside the
   namespace this script creates and removes) if the host allows it (root, ``ip netns``,
   ``sch_netem``); otherwise through ``delay_proxy.py``, a delaying relay on 127.0.0.1.

Each side uses its own file content, so the server's checksum de-duplication never lets one
side skip a transfer the other made.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

import requests

import common
from common import MiB
from pydas.checksums import file_md5

LATENCY_RATIO_TARGET = 1.15
SMALL_FILES_SPEEDUP_TARGET = 1.5
CURL_RATIO_TARGET = 0.8
CLIENT_RSS_TARGET_MIB = 100.0

HERE = os.path.dirname(os.path.abspath(__file__))

NETNS = 'pydasbench'
HOST_VETH, NS_VETH = 'pdbench-h', 'pdbench-s'
HOST_ADDRESS, NS_ADDRESS = '10.200.77.1', '10.200.77.2'


# --- 1. per-call latency ---------------------------------------------------------------------

def bench_call_latency(server, calls, summary, label=''):
    from pydas.core import Communicator

    common.section('per-call latency%s: Communicator vs bare requests.Session (%d calls)'
                   % (label, calls))
    session = requests.Session()
    communicator = Communicator(server.url)
    version_url = server.url + '/api/json?method=midas.version'

    def bare():
        session.post(version_url).raise_for_status()

    try:
        stats = common.compare_latency({'bare': bare,
                                        'pydas': communicator.get_server_version}, calls)
    finally:
        session.close()
        communicator.close()
    (bare_median, bare_p95), (pydas_median, pydas_p95) = stats['bare'], stats['pydas']
    print('  bare requests.Session: median %.3f ms, p95 %.3f ms'
          % (bare_median * 1000, bare_p95 * 1000))
    print('  Communicator:          median %.3f ms, p95 %.3f ms'
          % (pydas_median * 1000, pydas_p95 * 1000))
    ratio = pydas_median / bare_median
    summary.add('get_server_version latency%s' % label, '%.3f ms' % (pydas_median * 1000),
                'bare %.3f ms' % (bare_median * 1000), ratio,
                '<= %.2fx' % LATENCY_RATIO_TARGET, ratio <= LATENCY_RATIO_TARGET)


# --- 2. many small files ---------------------------------------------------------------------

def naive_upload(api, token, folder_id, source_dir):
    """Like the original pydas: per file item.create, generatetoken, then PUT f.read()."""
    item_ids = {}
    for name in sorted(os.listdir(source_dir)):
        item_id, upload_token = api.upload_token_for_new_item(token, folder_id, name)
        with open(os.path.join(source_dir, name), 'rb') as source:
            data = source.read()
        response = requests.put(api.url + '/api/json', data=data, params=dict(
            method='midas.upload.perform', uploadtoken=upload_token, filename=name,
            length=len(data), revision='head', itemid=item_id))
        if response.json()['stat'] != 'ok':
            raise common.ApiFailure('perform: %s' % response.text[:200])
        item_ids[name] = item_id
    return item_ids


def naive_download(api, token, item_ids, target_dir):
    """Like the original pydas: item.download per file, the whole body in memory."""
    os.makedirs(target_dir)
    for name, item_id in item_ids.items():
        response = requests.get(api.url + '/api/json', params=dict(
            method='midas.item.download', id=item_id, token=token))
        response.raise_for_status()
        with open(os.path.join(target_dir, name), 'wb') as out:
            out.write(response.content)


class Phase(object):
    """Wall time, and CPU time of this process and of the server, over a ``with`` block."""

    def __init__(self, server_pid):
        self.server_pid = server_pid

    def __enter__(self):
        self.start = (time.perf_counter(), common.process_cpu_seconds(os.getpid()),
                      common.process_cpu_seconds(self.server_pid))
        return self

    def __exit__(self, *exc_info):
        wall, client_cpu, server_cpu = self.start
        self.seconds = time.perf_counter() - wall
        self.client_cpu = common.process_cpu_seconds(os.getpid()) - client_cpu
        self.server_cpu = common.process_cpu_seconds(self.server_pid) - server_cpu
        return False


def run_naive(server, source, target, count):
    api = common.RawApi(server.url)
    token = api.login(server.email, server.api_key)
    folder_id = api.create_folder(token, os.path.basename(source), api.private_folder_id(token))
    with Phase(server.pid) as up:
        item_ids = naive_upload(api, token, folder_id, source)
    with Phase(server.pid) as down:
        naive_download(api, token, item_ids, target)
    return up, down


def run_pydas(server, source, target, jobs):
    import pydas.api

    pydas.api.login(email=server.email, api_key=server.api_key, url=server.url)
    with Phase(server.pid) as up:
        pydas.api.upload(source, destination='Private', jobs=jobs)
    server_path = '%s/Private/%s' % (common.RawApi(server.url).user_path(server.email),
                                     os.path.basename(source))
    with Phase(server.pid) as down:
        pydas.api.download(server_path, local_path=target, jobs=jobs)
    return up, down


def bench_small_files(server, work_dir, count, jobs, summary, label=''):
    common.section('%d small files up and down%s: pydas (jobs=%d, and jobs=1) vs naive'
                   % (count, label, jobs))
    tag = label.strip(' ,').replace(' ', '_') or 'loopback'
    runs = {}
    # Each side gets its own content (seed), so no checksum short-cut helps either side.
    for seed, side in enumerate(('naive', 'pydas jobs=%d' % jobs, 'pydas jobs=1'), 2):
        name = '%s_%s' % (side.replace(' ', '_').replace('=', ''), tag)
        source = os.path.join(work_dir, name)
        files = common.write_small_files(source, count, seed=seed)
        target = os.path.join(work_dir, name + '_out')
        if side == 'naive':
            up, down = run_naive(server, source, target, count)
        else:
            up, down = run_pydas(server, source, target, 1 if side.endswith('=1') else jobs)
            target = os.path.join(target, name)
        bad = common.compare_trees(files, target)
        runs[side] = (up, down, bad)
        for direction, phase in (('upload', up), ('download', down)):
            print('  %-13s %-8s %6.2f s (%4.0f files/s); CPU per file: client %.2f ms, '
                  'server %.2f ms' % (side, direction, phase.seconds, count / phase.seconds,
                                      phase.client_cpu / count * 1000,
                                      phase.server_cpu / count * 1000))
        print('  %-13s %d of %d files wrong or missing' % (side, bad, count))

    honest = all(bad == 0 for _, _, bad in runs.values())
    for index, direction in enumerate(('upload', 'download')):
        naive = runs['naive'][index].seconds
        for side in ('pydas jobs=%d' % jobs, 'pydas jobs=1'):
            seconds = runs[side][index].seconds
            speedup = naive / seconds
            if side.endswith('=1'):
                summary.add('%d small files %s%s, %s' % (count, direction, label, side),
                            '%.2f s' % seconds, 'naive %.2f s' % naive, speedup)
            else:
                summary.add('%d small files %s%s' % (count, direction, label),
                            '%.2f s' % seconds, 'naive %.2f s' % naive, speedup,
                            '>= %.1fx faster' % SMALL_FILES_SPEEDUP_TARGET,
                            honest and speedup >= SMALL_FILES_SPEEDUP_TARGET)
    if not honest:
        print('  FAIL: bytes differ')


# --- 3. one big file -------------------------------------------------------------------------

def run_child(*args):
    """Run child_transfer.py; return its JSON result."""
    command = [sys.executable, os.path.join(HERE, 'child_transfer.py')] + [str(a) for a in args]
    completed = subprocess.run(command, stdout=subprocess.PIPE, check=True)
    return json.loads(completed.stdout.decode().strip().splitlines()[-1])


def bench_big_file(server, work_dir, size, jobs, summary):
    common.section('%d MiB file up and down: pydas vs curl' % (size // MiB))
    api = common.RawApi(server.url, requests.Session())
    token = api.login(server.email, server.api_key)
    private_id = api.private_folder_id(token)
    user_path = api.user_path(server.email)
    downloaded = os.path.join(work_dir, 'big.out')

    source = os.path.join(work_dir, 'big_curl.bin')
    common.write_random_file(source, size, seed=10)
    # pydas.upload/download also checksum the file (dedup before sending, verification
    # after receiving): md5sum + curl is the same work, reported beside plain curl.
    md5sum_up, md5sum_up_cpu, _ = common.run_timed(['md5sum', source])
    item_id, upload_token = api.upload_token_for_new_item(token, private_id, 'big_curl.bin')
    curl_up, curl_up_cpu, envelope = common.curl_upload(server.url, upload_token,
                                                        'big_curl.bin', source, size)
    os.remove(source)
    if envelope['stat'] != 'ok':
        raise RuntimeError('curl upload failed: %r' % envelope)
    bitstream_id = api.head_bitstream(token, item_id)['bitstream_id']
    curl_down, curl_down_cpu = common.curl_download(server.url, token, bitstream_id, downloaded)
    md5sum_down, md5sum_down_cpu, _ = common.run_timed(['md5sum', downloaded])
    os.remove(downloaded)
    curl = dict(upload=dict(seconds=curl_up, cpu_seconds=curl_up_cpu),
                download=dict(seconds=curl_down, cpu_seconds=curl_down_cpu))
    curl_md5sum = dict(
        upload=dict(seconds=md5sum_up + curl_up, cpu_seconds=md5sum_up_cpu + curl_up_cpu),
        download=dict(seconds=curl_down + md5sum_down,
                      cpu_seconds=curl_down_cpu + md5sum_down_cpu))
    print('  curl: upload %.0f MB/s (CPU %.2f s), download %.0f MB/s (CPU %.2f s); '
          'md5sum %.2f s before the upload, %.2f s after the download'
          % (common.mb_per_s(size, curl_up), curl_up_cpu,
             common.mb_per_s(size, curl_down), curl_down_cpu, md5sum_up, md5sum_down))

    credentials = (server.url, server.email, server.api_key)

    source = os.path.join(work_dir, 'big_driver.bin')
    md5 = common.write_random_file(source, size, seed=11)
    item_id = api.call('midas.item.create', token=token, name='big_driver.bin',
                       parentid=private_id)['item_id']
    up = run_child('driver-upload', *credentials, source, item_id)
    os.remove(source)
    bitstream = api.head_bitstream(token, item_id)
    down = run_child('driver-download', *credentials, bitstream['bitstream_id'], downloaded)
    verified = bitstream['checksum'] == md5 and file_md5(downloaded)[0] == md5
    os.remove(downloaded)
    report_big('drivers', size, dict(upload=up, download=down), curl, verified, summary)

    source = os.path.join(work_dir, 'big_api.bin')
    md5 = common.write_random_file(source, size, seed=12)
    up = run_child('api-upload', *credentials, source, 'Private', jobs)
    os.remove(source)
    target_dir = os.path.join(work_dir, 'api_out')
    down = run_child('api-download', *credentials, user_path + '/Private/big_api.bin',
                     target_dir, jobs)
    downloaded = os.path.join(target_dir, 'big_api.bin')
    verified = os.path.isfile(downloaded) and file_md5(downloaded)[0] == md5
    shutil.rmtree(target_dir)
    report_big('pydas.upload/download', size, dict(upload=up, download=down), curl,
               verified, summary)
    report_big('pydas.upload/download', size, dict(upload=up, download=down), curl_md5sum,
               verified, summary, baseline='curl+md5sum')


def report_big(label, size, pydas_runs, curl_runs, verified, summary, baseline='curl'):
    for direction in ('upload', 'download'):
        child, curl = pydas_runs[direction], curl_runs[direction]
        speed = common.mb_per_s(size, child['seconds'])
        curl_speed = common.mb_per_s(size, curl['seconds'])
        ratio = speed / curl_speed
        print('  %s %s: %.2f s, %.0f MB/s (%s %.0f MB/s); CPU %.2f s (%s %.2f s); '
              'child RSS %.0f -> peak %.0f MiB; bytes %s'
              % (label, direction, child['seconds'], speed, baseline, curl_speed,
                 child['cpu_seconds'], baseline, curl['cpu_seconds'], child['start_mib'],
                 child['peak_mib'], 'verified' if verified else 'WRONG'))
        summary.add('big file %s, %s vs %s' % (direction, label, baseline), '%.0f MB/s' % speed,
                    '%s %.0f MB/s' % (baseline, curl_speed), ratio,
                    '>= %.1fx %s' % (CURL_RATIO_TARGET, baseline),
                    verified and ratio >= CURL_RATIO_TARGET)
        if baseline != 'curl':
            continue
        # Load-independent: client CPU time per byte (includes pydas's MD5 for the API).
        summary.add('client CPU, %s %s' % (label, direction), '%.2f s' % child['cpu_seconds'],
                    'curl %.2f s' % curl['cpu_seconds'])
        summary.add('client RSS growth, %s %s' % (label, direction),
                    '%.1f MiB' % child['growth_mib'], 'peak %.0f MiB' % child['peak_mib'],
                    None, '< %.0f MiB' % CLIENT_RSS_TARGET_MIB,
                    child['growth_mib'] < CLIENT_RSS_TARGET_MIB)


# --- 4. the same over a delayed link in a network namespace ---------------------------------

def run_ip(*commands):
    for command in commands:
        subprocess.run(command.split(), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)


def netns_setup(delay_ms):
    run_ip('ip netns add %s' % NETNS)
    run_ip('ip link add %s type veth peer name %s' % (HOST_VETH, NS_VETH),
           'ip link set %s netns %s' % (NS_VETH, NETNS),
           'ip addr add %s/24 dev %s' % (HOST_ADDRESS, HOST_VETH),
           'ip link set %s up' % HOST_VETH,
           'ip netns exec %s ip addr add %s/24 dev %s' % (NETNS, NS_ADDRESS, NS_VETH),
           'ip netns exec %s ip link set %s up' % (NETNS, NS_VETH),
           'ip netns exec %s ip link set lo up' % NETNS,
           # The delay on the host side's egress: every round trip takes delay_ms more.
           'tc qdisc add dev %s root netem delay %dms limit 100000' % (HOST_VETH, delay_ms))


def netns_teardown():
    # Deleting one end of a veth pair removes both; the namespace goes last.
    for command in ('ip link del %s' % HOST_VETH, 'ip netns del %s' % NETNS):
        subprocess.run(command.split(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class DelayProxy(object):
    """delay_proxy.py in a child process, in front of ``server``; ``.url`` goes through it."""

    def __init__(self, server, rtt_ms):
        self.server = server
        self.rtt_ms = rtt_ms

    def __enter__(self):
        parts = urllib.parse.urlsplit(self.server.url)
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, 'delay_proxy.py'), parts.hostname,
             str(parts.port), str(self.rtt_ms)], stdout=subprocess.PIPE)
        port = self.process.stdout.readline().strip()
        if not port:
            self.process.wait(5)
            raise RuntimeError('delay_proxy.py did not start')
        self.url = 'http://127.0.0.1:%d' % int(port)
        return self

    def __exit__(self, *exc_info):
        common.stop_child(self.process)
        return False

    def __getattr__(self, name):
        return getattr(self.server, name)


def bench_delayed_link(work_dir, args, summary):
    common.section('a link with %d ms round-trip delay' % args.delay_ms)
    netns_teardown()  # what a killed earlier run may have left behind
    try:
        netns_setup(args.delay_ms)
    except (OSError, subprocess.CalledProcessError) as error:
        netns_teardown()
        message = getattr(error, 'stderr', None) or str(error)
        if isinstance(message, bytes):
            message = message.decode('utf-8', 'replace').strip()
        print('  no netns + netem here (%s); using delay_proxy.py on 127.0.0.1 instead'
              % message)
        label = ', %d ms proxy' % args.delay_ms
        with common.ServerProcess(work_dir) as server, \
                DelayProxy(server, args.delay_ms) as delayed:
            print('server %s behind %s' % (server.url, delayed.url))
            bench_latency_bound(delayed, work_dir, args, summary, label)
        return
    try:
        with common.ServerProcess(work_dir, host=NS_ADDRESS, netns=NETNS) as server:
            print('server %s (pid %d) in netns %s' % (server.url, server.pid, NETNS))
            bench_latency_bound(server, work_dir, args, summary,
                                ', %d ms netns' % args.delay_ms)
    finally:
        netns_teardown()


def bench_latency_bound(server, work_dir, args, summary, label):
    bench_call_latency(server, args.netns_calls, summary, label)
    bench_small_files(server, work_dir, args.netns_files, args.jobs, summary, label)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='small sizes, seconds')
    parser.add_argument('--size-mib', type=int, help='big file size (default 1024)')
    parser.add_argument('--files', type=int, help='number of small files (default 1000)')
    parser.add_argument('--calls', type=int, help='latency calls per client (default 3000)')
    parser.add_argument('--jobs', type=int, default=4, help='pydas jobs=N (default 4)')
    parser.add_argument('--no-netns', dest='netns', action='store_false',
                        help='skip the delayed network namespace figures')
    parser.add_argument('--delay-ms', type=int, default=20, help='netns link delay (20)')
    args = common.fill_defaults(parser.parse_args(argv), size_mib=(32, 1024),
                                files=(100, 1000), calls=(300, 3000), netns_files=(20, 200),
                                netns_calls=(50, 200))
    args.netns_files = min(args.netns_files, args.files)
    return args


def main(argv=None):
    args = parse_args(argv)
    summary = common.Summary('bench_client summary (jobs=%d, %d small files, big file %d MiB)'
                             % (args.jobs, args.files, args.size_mib))
    with common.scratch_dir('pydas-bench-client-') as work_dir:
        with common.ServerProcess(work_dir) as server:
            print('server %s (pid %d)' % (server.url, server.pid))
            bench_call_latency(server, args.calls, summary)
            bench_small_files(server, work_dir, args.files, args.jobs, summary)
            bench_big_file(server, work_dir, args.size_mib * MiB, args.jobs, summary)
        if args.netns:
            netns_dir = os.path.join(work_dir, 'netns')
            os.mkdir(netns_dir)
            bench_delayed_link(netns_dir, args, summary)
    summary.print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
