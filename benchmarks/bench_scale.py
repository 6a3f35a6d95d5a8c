"""Benchmark pydas at scale (issue 10): big files, reruns, many files, latency-bound links.

Run from the repository root::

    python benchmarks/bench_scale.py --quick      # small sizes, a few minutes
    python benchmarks/bench_scale.py              # 1 GiB, 8 x 256 MiB, 1k/5k files
    python benchmarks/bench_scale.py --full       # and 50k files
    python benchmarks/bench_scale.py --only big,latency --runs 5

Every figure is the median of ``--runs`` runs (3 by default), wall time with CPU time
beside it, against baselines measured in the same run against the same embedded server
(``python -m pydas.testing`` in a child process; pydas runs in child processes for its
memory and bytes-read figures):

``big``
    one big file up and down: ``md5sum F`` + ``curl -T F`` (the same work as a deduplicating
    upload), ``curl -o G`` and ``md5sum G`` (a verified download can at best overlap them),
    plain curl; the bare drivers ``perform_upload`` / ``download_bitstream`` against plain
    curl; ``pydas.upload`` / ``pydas.download`` (default settings) against those; eight files
    of a quarter of that size in one ``pydas.upload`` against md5sum + curl file after file;
    the peak RSS of each pydas child.
``rerun``
    a tree uploaded with ``reuse_existing=True`` then uploaded again unchanged, and
    downloaded then downloaded again into the same directory, with the checksum cache and
    with ``PYDAS_CHECKSUM_CACHE=off``: time and bytes read (``rchar`` of ``/proc/self/io``
    of the child).
``scale``
    empty files in one folder, up and down, at 1,000 and 5,000 (and 50,000 with ``--full``):
    wall time per file, and CPU time per file of the client and of the server apart;
    the client's peak RSS.
``latency``
    per-call latency and 100 small files up and down over a 20 ms round-trip link
    (``delay_proxy.py``) in front of a TLS-terminating relay (``tls_relay.py``, a
    self-signed certificate made with ``openssl``, checked by ``verify_ssl_certificate``):
    pydas with default settings and with ``jobs=4`` against a naive client that behaves like
    the original pydas (a new connection per call, one file at a time, whole files in memory);
    again with a W=2 server when ``python -m pydas.testing`` has ``--workers``. The link
    offers TLS 1.2 by default, as the issue's link did: its per-call baseline of 3.98x at
    1.14 round trips per call needs a handshake of two round trips (TLS 1.3 takes one, which
    caps the per-call ratio at 3x); the per-call figure over the other version is printed
    too. The bounds beside them: the CPU time of the client, the server and the relays in
    each phase, and the floor it sets on 2 cores; the time before a transfer's first file
    starts (the calls finding the folders, one after the other) plus the client's CPU after
    it, which one interpreter spends at most one core at a time on; pydas with its pace
    starting at the cap (the ramp for free); pydas straight to the server (no link, no TLS:
    the CPU cost alone).

On a shared 2-core host the wall times move from run to run: the load average is printed,
and CPU times do not depend on it.
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

import requests

import bench_client
import common
from common import MiB
from pydas import checksumcache, transport, workers
from pydas.checksums import file_md5

HERE = os.path.dirname(os.path.abspath(__file__))

UPLOAD_VS_MD5SUM_CURL = 1.1
MANY_VS_MD5SUM_CURL = 1.4
DRIVER_VS_CURL = 0.9
DOWNLOAD_VS_LIMIT = 1.15
RSS_LIMIT_MIB = 64.0
RERUN_BYTES_FRACTION = 0.01
RERUN_TIME_FRACTION = 0.3
PER_FILE_GROWTH = 1.3
SMALL_FILES_SPEEDUP = 40.0
PER_CALL_SPEEDUP = 3.8


def timing(seconds, cpu):
    return '%.2f s (CPU %.2f s)' % (seconds, cpu)


def stamp(path, tag):
    """Give the file content no run had before (its first 32 bytes), cheaply."""
    with open(path, 'r+b') as target:
        target.write(('%-32s' % tag)[:32].encode())


def child_env(work_dir, cache=True):
    """Environment of a pydas child: cache and state directories of its own."""
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work_dir, 'xdg-cache'),
               XDG_STATE_HOME=os.path.join(work_dir, 'xdg-state'),
               PYTHONPATH=os.pathsep.join(filter(None, [os.path.dirname(HERE),
                                                        os.environ.get('PYTHONPATH')])))
    if not cache:
        env['PYDAS_CHECKSUM_CACHE'] = 'off'
    return env


def run_child(env, *args):
    """Run child_transfer.py; return its JSON result (wall, CPU, RSS, bytes read)."""
    command = [sys.executable, os.path.join(HERE, 'child_transfer.py')] + [str(a) for a in args]
    completed = subprocess.run(command, stdout=subprocess.PIPE, check=True, env=env)
    return common.json.loads(completed.stdout.decode().strip().splitlines()[-1])


class Setup(object):
    """Raw API calls for the benchmark's own setup, with one login."""

    def __init__(self, server):
        self.server = server
        self.api = common.RawApi(server.url, requests.Session())
        self.token = self.api.login(server.email, server.api_key)
        self.private_id = self.api.private_folder_id(self.token)
        self.user_path = self.api.user_path(server.email)
        self.credentials = (server.url, server.email, server.api_key)

    def folder(self, name):
        """Create a folder in Private; return (id, server path)."""
        return (self.api.create_folder(self.token, name, self.private_id),
                '%s/Private/%s' % (self.user_path, name))

    def curl_upload(self, path, folder_id, name=None):
        name = name or os.path.basename(path)
        item_id = self.api.call('midas.item.create', token=self.token, name=name,
                                parentid=folder_id)['item_id']
        upload_token = self.api.call('midas.upload.generatetoken', token=self.token,
                                     itemid=item_id, filename=name)['token']
        seconds, cpu, envelope = common.curl_upload(self.server.url, upload_token, name, path,
                                                    os.path.getsize(path))
        if envelope['stat'] != 'ok':
            raise RuntimeError('curl upload failed: %r' % envelope)
        return seconds, cpu, item_id

    def bitstream(self, item_id):
        return self.api.head_bitstream(self.token, item_id)


def md5sum(path):
    seconds, cpu, output = common.run_timed(['md5sum', path])
    return seconds, cpu, output.split()[0].decode()


# --- big files --------------------------------------------------------------------------

def bench_big(server, work_dir, args, summary):
    size = args.big_mib * MiB
    common.section('one %d MiB file, and 8 x %d MiB, %d runs'
                   % (args.big_mib, args.big_mib // 4, args.runs))
    big = BigFiles(server, work_dir, size)
    runs = []
    for run in range(args.runs):
        figures = {'verified': True}
        folder_id, folder_path = big.setup.folder('big-run%d' % run)
        many_id, many_path = big.setup.folder('many-run%d' % run)
        one_file = [lambda: big.tools(run, folder_id, figures),
                    lambda: big.drivers(run, folder_id, figures),
                    lambda: big.api(run, folder_path, figures)]
        eight_files = [lambda: big.many_tools(run, many_id, figures),
                       lambda: big.many_api(run, many_id, many_path, figures)]
        # The step right after a big write runs slower on this storage, whichever tool
        # it is: every other run takes the steps in the reverse order.
        for step in (one_file + eight_files if run % 2 == 0
                     else one_file[::-1] + eight_files[::-1]):
            step()
        if not figures['verified']:
            print('  run %d: bytes NOT verified' % (run + 1))
        runs.append(figures)
        print('  run %d: %s' % (run + 1, ', '.join(
            '%s %.2f s' % (key, value[0] if isinstance(value, tuple) else value['seconds'])
            for key, value in sorted(figures.items())
            if key not in ('verified', 'server cpu'))), flush=True)
    report_big(runs, size, summary)


class BigFiles(object):
    """The steps of the big-file figures; each adds its figures to a run's ``figures``."""

    def __init__(self, server, work_dir, size):
        self.server = server
        self.work_dir = work_dir
        self.setup = Setup(server)
        self.source = os.path.join(work_dir, 'big.bin')
        common.write_random_file(self.source, size, seed=20)
        self.many_dir = os.path.join(work_dir, 'many')
        os.mkdir(self.many_dir)
        self.many = [os.path.join(self.many_dir, 'part%d.bin' % number) for number in range(8)]
        for number, path in enumerate(self.many):
            common.write_random_file(path, size // 4, seed=30 + number)
        self.received = os.path.join(work_dir, 'received.bin')
        self.env = child_env(work_dir)

    def tools(self, run, folder_id, figures):
        """curl and md5sum: the same work done by the standard tools."""
        stamp(self.source, 'curl %d' % run)
        figures['md5sum up'] = md5sum(self.source)[:2]
        with server_cpu(self.server, figures, 'curl up'):
            seconds, cpu, item_id = self.setup.curl_upload(self.source, folder_id, 'curl.bin')
        figures['curl up'] = (seconds, cpu)
        bitstream_id = self.setup.bitstream(item_id)['bitstream_id']
        with server_cpu(self.server, figures, 'curl down'):
            figures['curl down'] = common.curl_download(self.server.url, self.setup.token,
                                                        bitstream_id, self.received)
        figures['md5sum down'] = md5sum(self.received)[:2]
        os.remove(self.received)

    def drivers(self, run, folder_id, figures):
        """The bare drivers: perform_upload and download_bitstream."""
        stamp(self.source, 'driver %d' % run)
        _, _, md5 = md5sum(self.source)
        item_id = self.setup.api.call('midas.item.create', token=self.setup.token,
                                      name='driver.bin', parentid=folder_id)['item_id']
        with server_cpu(self.server, figures, 'driver up'):
            figures['driver up'] = run_child(self.env, 'driver-upload', *self.setup.credentials,
                                             self.source, item_id)
        bitstream = self.setup.bitstream(item_id)
        with server_cpu(self.server, figures, 'driver down'):
            figures['driver down'] = run_child(self.env, 'driver-download',
                                               *self.setup.credentials,
                                               bitstream['bitstream_id'], self.received)
        figures['verified'] &= check('driver upload', bitstream['checksum'], md5)
        figures['verified'] &= check('driver download', file_md5(self.received)[0], md5)
        os.remove(self.received)

    def api(self, run, folder_path, figures):
        """pydas.upload and pydas.download with default settings."""
        stamp(self.source, 'api %d' % run)
        _, _, md5 = md5sum(self.source)
        with server_cpu(self.server, figures, 'api up'):
            figures['api up'] = run_child(self.env, 'api-upload', *self.setup.credentials,
                                          self.source, folder_path, 'default')
        target = os.path.join(self.work_dir, 'api_out')
        with server_cpu(self.server, figures, 'api down'):
            figures['api down'] = run_child(self.env, 'api-download', *self.setup.credentials,
                                            folder_path + '/big.bin', target, 'default')
        figures['verified'] &= check('pydas.download',
                                     file_md5(os.path.join(target, 'big.bin'))[0], md5)
        shutil.rmtree(target)

    def many_tools(self, run, many_id, figures):
        """Eight files, md5sum + curl one after the other."""
        hashed = sent = hashed_cpu = sent_cpu = 0.0
        for path in self.many:
            stamp(path, 'curl %d' % run)
            seconds, cpu, _ = md5sum(path)
            hashed, hashed_cpu = hashed + seconds, hashed_cpu + cpu
            with server_cpu(self.server, figures, 'many curl'):
                seconds, cpu, _ = self.setup.curl_upload(path, many_id)
            sent, sent_cpu = sent + seconds, sent_cpu + cpu
        figures['many md5sum'] = (hashed, hashed_cpu)
        figures['many curl'] = (sent, sent_cpu)

    def many_api(self, run, many_id, many_path, figures):
        """The eight files in one pydas.upload."""
        checksums = {}
        for path in self.many:
            stamp(path, 'api %d' % run)
            checksums[os.path.basename(path)] = md5sum(path)[2]
        with server_cpu(self.server, figures, 'many api'):
            figures['many api'] = run_child(self.env, 'api-upload', *self.setup.credentials,
                                            self.many_dir, many_path, 'default')
        figures['verified'] &= check('pydas.upload of 8 files',
                                     verify_folder(self.setup, many_id, 'many'), checksums)


def check(what, found, expected):
    if found != expected:
        print('  %s: found %r, expected %r' % (what, found, expected))
    return found == expected


@contextlib.contextmanager
def server_cpu(server, figures, key):
    """Add the server's CPU time over the ``with`` block to ``figures['server cpu'][key]``.

    Dirty pages are written out first, so that no step pays for the writes of the one
    before it.
    """
    os.sync()
    start = common.process_cpu_seconds(server.pid)
    yield
    spent = figures.setdefault('server cpu', {})
    spent[key] = spent.get(key, 0.0) + common.process_cpu_seconds(server.pid) - start


def verify_folder(setup, parent_id, name):
    """Item name -> MD5 of the items of the server folder ``name`` in ``parent_id``."""
    children = setup.api.call('midas.folder.children', token=setup.token, id=parent_id)
    folder_id = next(folder['folder_id'] for folder in children['folders']
                     if folder['name'] == name)
    items = setup.api.call('midas.folder.children', token=setup.token, id=folder_id)['items']
    return dict((item['name'], setup.bitstream(item['item_id'])['checksum']) for item in items)


def median_pair(runs, key):
    """Median (wall, CPU) of a figure over the runs."""
    pairs = [run[key] if isinstance(run[key], tuple)
             else (run[key]['seconds'], run[key]['cpu_seconds']) for run in runs]
    return (common.statistics.median(pair[0] for pair in pairs),
            common.statistics.median(pair[1] for pair in pairs))


def add_sum(first, second):
    return (first[0] + second[0], first[1] + second[1])


def report_big(runs, size, summary):
    verified = all(run['verified'] for run in runs)
    n = len(runs)
    curl_up = median_pair(runs, 'curl up')
    md5sum_down, curl_down = median_pair(runs, 'md5sum down'), median_pair(runs, 'curl down')
    tools_up = median_pair([dict(x=add_sum(run['md5sum up'], run['curl up'])) for run in runs],
                           'x')
    limit_down = max(curl_down[0], md5sum_down[0])
    mib = size // MiB
    for label, key, baseline, baseline_name, target in (
            ('driver perform_upload', 'driver up', curl_up, 'curl -T', DRIVER_VS_CURL),
            ('driver download_bitstream', 'driver down', curl_down, 'curl -o', DRIVER_VS_CURL)):
        measured = median_pair(runs, key)
        ratio = baseline[0] / measured[0]
        summary.add('%d MiB %s (median of %d)' % (mib, label, n), timing(*measured),
                    '%s %s' % (baseline_name, timing(*baseline)), ratio,
                    '>= %.2fx curl' % target, verified and ratio >= target)
    api_up = median_pair(runs, 'api up')
    ratio = tools_up[0] / api_up[0]
    summary.add('%d MiB pydas.upload' % mib, timing(*api_up),
                'md5sum+curl %s' % timing(*tools_up), ratio,
                '>= %.1fx' % UPLOAD_VS_MD5SUM_CURL, verified and ratio >= UPLOAD_VS_MD5SUM_CURL)
    summary.add('%d MiB pydas.upload vs plain curl' % mib, timing(*api_up),
                'curl -T %s' % timing(*curl_up), curl_up[0] / api_up[0])
    # Its bound: the whole MD5 before the first byte (de-duplication), then the PUT.
    steps_up = median_pair([dict(x=add_sum(run['md5sum up'], (run['driver up']['seconds'],
                                                              run['driver up']['cpu_seconds'])))
                            for run in runs], 'x')
    summary.add('%d MiB pydas.upload vs its two steps' % mib, timing(*api_up),
                'md5sum+perform_upload %s' % timing(*steps_up), steps_up[0] / api_up[0])
    api_down = median_pair(runs, 'api down')
    ratio = api_down[0] / limit_down
    summary.add('%d MiB pydas.download (verified)' % mib, timing(*api_down),
                'max(curl -o %.2f s, md5sum %.2f s)' % (curl_down[0], md5sum_down[0]), ratio,
                '<= %.2fx limit' % DOWNLOAD_VS_LIMIT, verified and ratio <= DOWNLOAD_VS_LIMIT)
    summary.add('%d MiB pydas.download vs plain curl' % mib, timing(*api_down),
                'curl -o %s' % timing(*curl_down), curl_down[0] / api_down[0])
    hashed, sent = median_pair(runs, 'many md5sum'), median_pair(runs, 'many curl')
    tools_many = median_pair([dict(x=add_sum(run['many md5sum'], run['many curl']))
                              for run in runs], 'x')
    api_many = median_pair(runs, 'many api')
    ratio = tools_many[0] / api_many[0]
    summary.add('8 x %d MiB pydas.upload' % (mib // 4), timing(*api_many),
                'md5sum+curl in turn %s' % timing(*tools_many), ratio,
                '>= %.1fx' % MANY_VS_MD5SUM_CURL, verified and ratio >= MANY_VS_MD5SUM_CURL)
    summary.add('8 x %d MiB limit max(hash, send)' % (mib // 4), '%.2f s' % api_many[0],
                'max(%.2f s, %.2f s)' % (hashed[0], sent[0]), max(hashed[0], sent[0])
                / api_many[0])
    summary.add('server CPU (median)', ', '.join(
        '%s %.2f s' % (key, common.statistics.median(run['server cpu'][key] for run in runs))
        for key in ('curl up', 'driver up', 'api up', 'curl down', 'driver down', 'api down',
                    'many curl', 'many api')))
    peak = max(run[key]['peak_mib'] for run in runs
               for key in ('driver up', 'driver down', 'api up', 'api down', 'many api'))
    summary.add('peak client RSS, big files', '%.0f MiB' % peak, '', None,
                '< %.0f MiB' % RSS_LIMIT_MIB, peak < RSS_LIMIT_MIB)


# --- reruns -----------------------------------------------------------------------------

def bench_rerun(server, work_dir, args, summary):
    total = args.rerun_mib * MiB
    count = 64
    common.section('rerun over an unchanged %d MiB tree (%d files), %d runs'
                   % (args.rerun_mib, count, args.runs))
    setup = Setup(server)
    tree = os.path.join(work_dir, 'tree')
    os.mkdir(tree)
    for number in range(count):
        common.write_random_file(os.path.join(tree, 'f%02d.bin' % number), total // count,
                                 seed=100 + number)
    runs = []
    for run in range(args.runs):
        for name in os.listdir(tree):
            stamp(os.path.join(tree, name), 'rerun %d' % run)
        # The cache keeps no checksum of a file changed less than RACY_NS before it was
        # read (a change within the same clock tick would not show): let the tree settle.
        time.sleep(checksumcache.RACY_NS / 1e9 + 0.1)
        run_dir = os.path.join(work_dir, 'rerun%d' % run)
        os.mkdir(run_dir)
        env, env_off = child_env(run_dir), child_env(run_dir, cache=False)
        _, folder_path = setup.folder('rerun%d' % run)
        figures = {}
        upload = ('api-upload',) + setup.credentials + (tree, folder_path, 'default', 'reuse')
        figures['up first'] = run_child(env, *upload)
        figures['up cached'] = run_child(env, *upload)
        figures['up uncached'] = run_child(env_off, *upload)
        target = os.path.join(run_dir, 'out')
        download = ('api-download',) + setup.credentials + (folder_path + '/tree', target,
                                                            'default')
        figures['down first'] = run_child(env, *download)
        figures['down cached'] = run_child(env, *download)
        figures['down uncached'] = run_child(env_off, *download)
        shutil.rmtree(run_dir)
        runs.append(figures)
        print('  run %d: %s' % (run + 1, ', '.join(
            '%s %.2f s %.1f MiB read' % (key, value['seconds'], value['rchar'] / MiB)
            for key, value in sorted(figures.items()))), flush=True)
    for direction in ('up', 'down'):
        first = median_pair(runs, '%s first' % direction)
        for variant, target in (('cached', True), ('uncached', False)):
            key = '%s %s' % (direction, variant)
            measured = median_pair(runs, key)
            read = common.median_of([run[key] for run in runs], 'rchar')
            label = '%sload rerun, %s' % (direction, 'cache on' if target else 'cache off')
            summary.add(label + ', time', timing(*measured), 'first %s' % timing(*first),
                        measured[0] / first[0],
                        '< %.1fx first' % RERUN_TIME_FRACTION if target else '',
                        measured[0] < RERUN_TIME_FRACTION * first[0] if target else None)
            summary.add(label + ', bytes read', '%.2f MiB' % (read / MiB),
                        'tree %d MiB' % args.rerun_mib, read / float(total),
                        '< %.0f%% of tree' % (RERUN_BYTES_FRACTION * 100) if target else '',
                        read < RERUN_BYTES_FRACTION * total if target else None)


# --- many files -------------------------------------------------------------------------

def bench_scale(server, work_dir, args, summary):
    common.section('empty files in one folder: %s, %d runs'
                   % (', '.join(str(count) for count in args.counts), args.runs))
    setup = Setup(server)
    per_file = {}
    for count in args.counts:
        source = os.path.join(work_dir, 'n%d' % count)
        os.mkdir(source)
        for number in range(count):
            open(os.path.join(source, 'e%06d' % number), 'wb').close()
        runs = []
        for run in range(args.runs if count <= 10000 else 1):
            run_dir = os.path.join(work_dir, 'scale%d-%d' % (count, run))
            os.mkdir(run_dir)
            env = child_env(run_dir)
            _, folder_path = setup.folder('scale%d-%d' % (count, run))
            figures = {}
            for direction, command in (
                    ('up', ('api-upload',) + setup.credentials + (source, folder_path,
                                                                  'default')),
                    ('down', ('api-download',) + setup.credentials + (
                        folder_path + '/n%d' % count, os.path.join(run_dir, 'out'),
                        'default'))):
                server_cpu = common.process_cpu_seconds(server.pid)
                figures[direction] = run_child(env, *command)
                figures[direction]['server_cpu'] = (common.process_cpu_seconds(server.pid)
                                                    - server_cpu)
            received = os.listdir(os.path.join(run_dir, 'out', 'n%d' % count))
            if len(received) != count:
                raise RuntimeError('%d of %d files downloaded' % (len(received), count))
            # The trees stay until the end: on this host's volume, deleting thousands of
            # files makes the next run's file creations cost over twice the system CPU.
            runs.append(figures)
            print('  %d files, run %d: %s' % (count, run + 1, ', '.join(
                '%s %.2f s (client CPU %.2f s, server CPU %.2f s, peak RSS %.0f MiB)'
                % (key, value['seconds'], value['cpu_seconds'], value['server_cpu'],
                   value['peak_mib']) for key, value in sorted(figures.items()))), flush=True)
        per_file[count] = {}
        for direction in ('up', 'down'):
            values = [run[direction] for run in runs]
            per_file[count][direction] = dict(
                (key, common.median_of(values, key) / count * 1000)
                for key in ('seconds', 'cpu_seconds', 'server_cpu'))
            per_file[count][direction]['peak_mib'] = max(value['peak_mib'] for value in values)
    smallest = args.counts[0]
    for count in args.counts:
        for direction in ('up', 'down'):
            cost = per_file[count][direction]
            measured = '%.2f ms/file (client CPU %.2f, server CPU %.2f ms/file; RSS %.0f MiB)' % (
                cost['seconds'], cost['cpu_seconds'], cost['server_cpu'], cost['peak_mib'])
            if count == smallest:
                summary.add('%d files %sload' % (count, direction), measured)
                continue
            base = per_file[smallest][direction]
            ratio = cost['seconds'] / base['seconds']
            summary.add('%d files %sload' % (count, direction), measured,
                        '%d: %.2f ms/file' % (smallest, base['seconds']), ratio,
                        '<= %.1fx' % PER_FILE_GROWTH, ratio <= PER_FILE_GROWTH)
            summary.add('%d files %sload, client CPU/file' % (count, direction),
                        '%.2f ms' % cost['cpu_seconds'],
                        '%d: %.2f ms' % (smallest, base['cpu_seconds']),
                        cost['cpu_seconds'] / base['cpu_seconds'], '<= %.1fx' % PER_FILE_GROWTH,
                        cost['cpu_seconds'] / base['cpu_seconds'] <= PER_FILE_GROWTH)


# --- latency-bound links ----------------------------------------------------------------

class Relay(object):
    """A relay script in a child process; ``.port`` is where it listens."""

    def __init__(self, *command):
        self.command = [sys.executable] + [str(part) for part in command]

    def __enter__(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE)
        port = self.process.stdout.readline().strip()
        if not port:
            self.process.wait(5)
            raise RuntimeError('%s did not start' % self.command[1])
        self.port = int(port)
        return self

    def __exit__(self, *exc_info):
        common.stop_child(self.process)
        return False


def make_certificate(work_dir):
    """A self-signed certificate for 127.0.0.1; return (cert, key) paths."""
    cert, key = os.path.join(work_dir, 'cert.pem'), os.path.join(work_dir, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                    '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1',
                    '-addext', 'subjectAltName=IP:127.0.0.1'], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


@contextlib.contextmanager
def delayed_link(server, work_dir, rtt_ms, tls, tls_max=None):
    """Yield (url, verify, relay pids) of ``server`` behind a delaying relay (and TLS, at
    most of version ``tls_max`` when given)."""
    parts = urllib.parse.urlsplit(server.url)
    if not tls:
        with Relay(os.path.join(HERE, 'delay_proxy.py'), parts.hostname, parts.port,
                   rtt_ms) as delay:
            yield 'http://127.0.0.1:%d' % delay.port, True, [delay.process.pid]
        return
    cert, key = make_certificate(work_dir)
    with Relay(os.path.join(HERE, 'tls_relay.py'), parts.hostname, parts.port, cert, key,
               *([tls_max] if tls_max else [])) as terminator, \
            Relay(os.path.join(HERE, 'delay_proxy.py'), '127.0.0.1', terminator.port,
                  rtt_ms) as delay:
        yield ('https://127.0.0.1:%d' % delay.port, cert,
               [terminator.process.pid, delay.process.pid])


class Linked(object):
    """The server as seen through the delayed link."""

    def __init__(self, server, url):
        self.url = url
        self.pid = server.pid
        self.email = server.email
        self.api_key = server.api_key


class LinkPhase(bench_client.Phase):
    """A :class:`bench_client.Phase` that also takes the CPU time of the link's relays, and
    when the transfer's first file started: the first call of a worker thread (the calls
    before it, which find the folders, run one after the other)."""

    def __init__(self, server_pid, relay_pids):
        super(LinkPhase, self).__init__(server_pid)
        self.relay_pids = relay_pids

    def __enter__(self):
        self.relay_start = sum(common.process_cpu_seconds(pid) for pid in self.relay_pids)
        self.first_file = None
        send = self._send = transport.Transport.send

        def noting_send(sender, *args, **kwargs):
            if (self.first_file is None
                    and threading.current_thread().name.startswith('pydas-transfer')):
                self.first_file = (time.perf_counter(), time.process_time())
            return send(sender, *args, **kwargs)

        transport.Transport.send = noting_send
        return super(LinkPhase, self).__enter__()

    def __exit__(self, *exc_info):
        transport.Transport.send = self._send
        super(LinkPhase, self).__exit__(*exc_info)
        self.relay_cpu = (sum(common.process_cpu_seconds(pid) for pid in self.relay_pids)
                          - self.relay_start)
        first_wall, first_cpu = self.first_file
        self.before_first_file = first_wall - self.start[0]
        self.cpu_after_first_file = time.process_time() - first_cpu
        return False

    @property
    def start_floor(self):
        """The wall time the calls before the first file, one after the other, and the
        client's CPU after them allow (one interpreter runs on one core at a time)."""
        return self.before_first_file + self.cpu_after_first_file

    @property
    def cpu_floor(self):
        """The wall time the CPU allows: all the processes' CPU spread over every core, and
        not less than the client's own (one interpreter lock)."""
        total = self.client_cpu + self.server_cpu + self.relay_cpu
        return max(total / (os.cpu_count() or 1), self.client_cpu)


def bench_latency(server, work_dir, args, summary, label):
    version = args.tls_version if args.tls else None
    common.section('latency-bound link%s: %d ms round trip%s, %d runs'
                   % (label, args.delay_ms, ', TLS %s' % version if version else '',
                      args.runs))
    import pydas.api

    if version:
        other = '1.3' if version == '1.2' else '1.2'
        with delayed_link(server, work_dir, args.delay_ms, True, tls_cap(other)) as (
                url, verify, _):
            os.environ['REQUESTS_CA_BUNDLE'] = verify
            per_call(url, verify, args, summary, label, other, target=False)
    link = delayed_link(server, work_dir, args.delay_ms, args.tls, tls_cap(version))
    with link as (url, verify, relay_pids):
        linked = Linked(server, url)
        # The naive baseline (requests' module functions) checks the certificate this way.
        os.environ['REQUESTS_CA_BUNDLE'] = verify if verify is not True else ''
        per_call(url, verify, args, summary, label, version, target=True)
        # "at the cap": the pace starts at its cap, as if its ramp cost nothing; "no link":
        # straight to the server, without TLS: what the CPU alone costs.
        sides = ('naive', 'pydas default', 'pydas jobs=4', 'pydas at the cap', 'pydas no link')
        runs = dict((side, []) for side in sides)
        seed = 1000
        for run in range(args.runs):
            for side in sides:
                seed += 1
                name = '%s_%d' % (side.replace(' ', '_').replace('=', ''), seed)
                source = os.path.join(work_dir, name)
                files = common.write_small_files(source, args.small_files, seed=seed)
                target = os.path.join(work_dir, name + '_out')
                if side == 'naive':
                    up, down = bench_client.run_naive(linked, source, target, len(files))
                else:
                    side_url = server.url if side == 'pydas no link' else url
                    pydas.api.login(email=server.email, api_key=server.api_key, url=side_url,
                                    verify_ssl_certificate=verify if side_url == url else True)
                    options = dict(jobs=4) if side == 'pydas jobs=4' else {}
                    server_path = '%s/Private/%s' % (
                        common.RawApi(server.url).user_path(server.email), name)
                    with starting_jobs(workers.DEFAULT_JOBS if side == 'pydas at the cap'
                                       else workers.STARTING_JOBS):
                        with LinkPhase(server.pid, relay_pids) as up:
                            pydas.api.upload(source, destination='Private', **options)
                        with LinkPhase(server.pid, relay_pids) as down:
                            pydas.api.download(server_path, local_path=target, **options)
                    target = os.path.join(target, name)
                bad = common.compare_trees(files, target)
                if bad:
                    raise RuntimeError('%s: %d files wrong or missing' % (side, bad))
                runs[side].append(dict(up=up, down=down))
                shutil.rmtree(source)
                shutil.rmtree(os.path.dirname(target) if side != 'naive' else target)
                print('  run %d %-16s up %s, down %s'
                      % (run + 1, side, phase_cpu(up), phase_cpu(down)), flush=True)
        os.environ.pop('REQUESTS_CA_BUNDLE', None)

    def median(side, direction, figure=lambda phase: phase.seconds):
        return common.statistics.median(figure(run[direction]) for run in runs[side])

    for direction in ('up', 'down'):
        naive = median('naive', direction), median('naive', direction, client_cpu)
        budget = naive[0] / SMALL_FILES_SPEEDUP
        for side in ('pydas default', 'pydas jobs=4'):
            measured = median(side, direction), median(side, direction, client_cpu)
            ratio = naive[0] / measured[0]
            target = side == 'pydas default'
            summary.add('%d small files %sload%s, %s' % (args.small_files, direction, label,
                                                         side),
                        timing(*measured), 'naive %s' % timing(*naive), ratio,
                        '>= %.0fx' % SMALL_FILES_SPEEDUP if target else '',
                        ratio >= SMALL_FILES_SPEEDUP if target else None)
        at_cap = median('pydas at the cap', direction)
        summary.add('  pace starting at its cap%s (%sload)' % (label, direction),
                    timing(at_cap, median('pydas at the cap', direction, client_cpu)),
                    '%.0fx needs %.2f s' % (SMALL_FILES_SPEEDUP, budget), naive[0] / at_cap)
        floor = median('pydas default', direction, lambda phase: phase.cpu_floor)
        summary.add('  CPU floor over the link%s (%sload)' % (label, direction),
                    '%.2f s' % floor, '%.0fx needs %.2f s' % (SMALL_FILES_SPEEDUP, budget),
                    naive[0] / floor)
        before = median('pydas default', direction, lambda phase: phase.before_first_file)
        floor = median('pydas default', direction, lambda phase: phase.start_floor)
        summary.add('  first file after %.2f s, + client CPU after%s (%sload)'
                    % (before, label, direction), '%.2f s' % floor,
                    '%.0fx needs %.2f s' % (SMALL_FILES_SPEEDUP, budget), naive[0] / floor)
        unlinked = median('pydas no link', direction)
        summary.add('  pydas without any link%s (%sload)' % (label, direction),
                    timing(unlinked, median('pydas no link', direction, client_cpu)),
                    '%.0fx needs %.2f s' % (SMALL_FILES_SPEEDUP, budget), naive[0] / unlinked)


def tls_cap(version):
    """The ``tls_max`` of :func:`delayed_link` for a link of TLS ``version`` (or None)."""
    return '1.2' if version == '1.2' else None


def per_call(url, verify, args, summary, label, tls_version, target):
    """Per-call latency of pydas against the naive client over the link at ``url``, against
    the target if ``target``.

    The naive client opens a connection per call: TCP (one round trip), the TLS handshake
    (one round trip in TLS 1.3, two in 1.2), then the call; pydas keeps its connection and
    spends one round trip. The ratio is at most 3x over TLS 1.3, 4x over TLS 1.2.
    """
    from pydas.core import Communicator

    version_url = url + '/api/json?method=midas.version'
    communicator = Communicator(url)
    communicator.verify_ssl_certificate = verify

    def naive():
        requests.post(version_url).raise_for_status()

    try:
        stats = common.compare_latency({'naive': naive,
                                        'pydas': communicator.get_server_version},
                                       args.calls, rounds=args.runs)
    finally:
        communicator.close()
    (naive_median, _), (pydas_median, _) = stats['naive'], stats['pydas']
    ratio = naive_median / pydas_median
    handshake = {'1.3': 1, '1.2': 2}.get(tls_version, 0)
    ceiling = '(at most %dx)' % (2 + handshake)
    summary.add('per call%s%s' % (label, ', TLS %s' % tls_version if tls_version else ''),
                '%.1f ms' % (pydas_median * 1000), 'naive %.1f ms' % (naive_median * 1000),
                ratio, '>= %.1fx %s' % (PER_CALL_SPEEDUP, ceiling) if target else ceiling,
                ratio >= PER_CALL_SPEEDUP if target else None)


@contextlib.contextmanager
def starting_jobs(count):
    """Let transfers start ``count`` files at once (pydas.workers.STARTING_JOBS)."""
    saved, workers.STARTING_JOBS = workers.STARTING_JOBS, count
    try:
        yield
    finally:
        workers.STARTING_JOBS = saved


def client_cpu(phase):
    return phase.client_cpu


def phase_cpu(phase):
    """Wall time and the CPU time of each process over a phase."""
    relays = getattr(phase, 'relay_cpu', None)
    first_file = getattr(phase, 'before_first_file', None)
    return '%.2f s (CPU client %.2f, server %.2f%s)%s' % (
        phase.seconds, phase.client_cpu, phase.server_cpu,
        ', relays %.2f' % relays if relays is not None else '',
        ', first file after %.2f s' % first_file if first_file is not None else '')


def server_has_workers():
    completed = subprocess.run([sys.executable, '-m', 'pydas.testing', '--help'],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return b'--workers' in completed.stdout


# --- main -------------------------------------------------------------------------------

SECTIONS = ('big', 'rerun', 'scale', 'latency')


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='small sizes')
    parser.add_argument('--full', action='store_true', help='also 50,000 files')
    parser.add_argument('--runs', type=int, help='runs per figure (default 3)')
    parser.add_argument('--only', default=','.join(SECTIONS),
                        help='sections to run, of %s' % ','.join(SECTIONS))
    parser.add_argument('--big-mib', type=int, help='big file size (default 1024)')
    parser.add_argument('--rerun-mib', type=int, help='rerun tree size (default 256)')
    parser.add_argument('--small-files', type=int, default=100, help='files over the link')
    parser.add_argument('--calls', type=int, help='calls per client over the link')
    parser.add_argument('--delay-ms', type=int, default=20, help='link round trip (20)')
    parser.add_argument('--no-tls', dest='tls', action='store_false',
                        help='the delayed link without TLS')
    parser.add_argument('--tls-version', choices=('1.2', '1.3'), default='1.2',
                        help="the link's TLS version (1.2, the issue's link; per call is "
                             "measured over the other one too)")
    args = parser.parse_args(argv)
    args.sections = [name for name in args.only.split(',') if name]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error('unknown sections: %s' % ', '.join(sorted(unknown)))
    common.fill_defaults(args, runs=(2, 3), big_mib=(64, 1024), rerun_mib=(32, 256),
                         calls=(30, 100))
    args.counts = [200, 1000] if args.quick else [1000, 5000] + ([50000] if args.full else [])
    return args


def main(argv=None):
    args = parse_args(argv)
    summary = common.Summary('bench_scale summary (median of %d runs)' % args.runs)
    with common.scratch_dir('pydas-bench-scale-') as work_dir:
        with common.ServerProcess(work_dir) as server:
            print('server %s (pid %d)' % (server.url, server.pid))
            for name in ('big', 'rerun', 'scale', 'latency'):
                if name in args.sections:
                    section_dir = os.path.join(work_dir, name)
                    os.mkdir(section_dir)
                    globals()['bench_' + name](server, section_dir, args, summary, *(
                        ('',) if name == 'latency' else ()))
        if 'latency' in args.sections:
            if server_has_workers():
                workers_dir = os.path.join(work_dir, 'workers')
                os.mkdir(workers_dir)
                with common.ServerProcess(workers_dir, options=['--workers', '2']) as server:
                    bench_latency(server, workers_dir, args, summary, ', W=2 server')
            else:
                summary.skip('latency-bound link, W=2 server',
                             'python -m pydas.testing has no --workers option yet')
    summary.print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
