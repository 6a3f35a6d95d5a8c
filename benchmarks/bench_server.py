"""Benchmark the embedded Midas server (``pydas.testing``) on its own.

Run from the repository root::

    python benchmarks/bench_server.py            # full run: 1 GiB transfers (about a minute)
    python benchmarks/bench_server.py --quick    # small sizes, a few seconds
    python benchmarks/bench_server.py --size-mib 256 --calls 5000

Figures (the server runs as ``python -m pydas.testing --json`` in a child process):

1. ``midas.version`` latency over keep-alive with raw ``http.client``, the leanest client, so
   that the figure is the server's (target: median <= 1 ms); for comparison the same with a
   bare ``requests.Session`` and with ``trust_env=False`` (requests then skips its per-call
   look-ups of proxy variables and ``~/.netrc``): the difference is the client's own cost;
2. upload (PUT midas.upload.perform, streamed by curl) and download (midas.bitstream.download,
   redirect followed by curl) throughput of one large generated file (target: >= 200 MB/s,
   MB = 10^6 bytes), checked byte for byte through the MD5;
3. the server process's peak RSS growth during each transfer (target: < 100 MiB), and its
   CPU time, which gives a throughput ceiling that does not depend on how busy the host is.
"""

import argparse
import http.client
import os
import sys
import urllib.parse

import requests

import common
from common import MiB
from pydas.checksums import file_md5

LATENCY_TARGET_MS = 1.0
THROUGHPUT_TARGET_MB_S = 200.0
RSS_GROWTH_TARGET_MIB = 100.0


def bench_version_latency(server, calls, summary):
    common.section('midas.version latency over keep-alive (%d calls)' % calls)
    path = '/api/json?method=midas.version'
    session = requests.Session()
    # Without the per-call proxy/.netrc look-ups in the environment: what requests costs.
    session_no_env = requests.Session()
    session_no_env.trust_env = False
    parts = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def with_http_client():
        connection.request('POST', path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError('HTTP %d' % response.status)

    assert session.post(server.url + path).json()['stat'] == 'ok'
    try:
        stats = common.compare_latency({
            'requests.Session': lambda: session.post(server.url + path).raise_for_status(),
            'requests.Session, trust_env=False':
                lambda: session_no_env.post(server.url + path).raise_for_status(),
            'http.client': with_http_client}, calls)
    finally:
        session.close()
        session_no_env.close()
        connection.close()
    stats_ms = {name: (median * 1000, p95 * 1000) for name, (median, p95) in stats.items()}
    for name, (median_ms, p95_ms) in stats_ms.items():
        print('  %-34s median %.3f ms, p95 %.3f ms' % (name + ':', median_ms, p95_ms))
    raw_median_ms, raw_p95_ms = stats_ms['http.client']
    summary.add('version latency, http.client (median)', '%.3f ms' % raw_median_ms, '', None,
                '<= %.1f ms' % LATENCY_TARGET_MS, raw_median_ms <= LATENCY_TARGET_MS)
    summary.add('version latency, http.client (p95)', '%.3f ms' % raw_p95_ms)
    for name, (median_ms, p95_ms) in stats_ms.items():
        if name != 'http.client':
            summary.add('version latency, %s (median)' % name, '%.3f ms' % median_ms,
                        'http.client %.3f ms' % raw_median_ms, median_ms / raw_median_ms)


def bench_big_transfer(server, work_dir, size, summary):
    common.section('%d MiB upload and download with curl' % (size // MiB))
    api = common.RawApi(server.url, requests.Session())
    token = api.login(server.email, server.api_key)
    folder_id = api.private_folder_id(token)
    source = os.path.join(work_dir, 'big.bin')
    md5 = common.write_random_file(source, size, seed=1)
    item_id, upload_token = api.upload_token_for_new_item(token, folder_id, 'big.bin')

    with common.ProcessWatch(server.pid) as upload_watch:
        seconds, _, envelope = common.curl_upload(server.url, upload_token, 'big.bin', source,
                                                  size)
    os.remove(source)
    if envelope['stat'] != 'ok':
        raise RuntimeError('upload failed: %r' % envelope)
    bitstream = api.head_bitstream(token, item_id)
    upload_ok = int(bitstream['sizebytes']) == size and bitstream['checksum'] == md5
    report_transfer(summary, 'upload', size, seconds, upload_watch, upload_ok)

    target = os.path.join(work_dir, 'big.out')
    with common.ProcessWatch(server.pid) as download_watch:
        seconds, _ = common.curl_download(server.url, token, bitstream['bitstream_id'], target)
    download_ok = os.path.getsize(target) == size and file_md5(target)[0] == md5
    os.remove(target)
    report_transfer(summary, 'download', size, seconds, download_watch, download_ok)


def report_transfer(summary, direction, size, seconds, watch, verified):
    speed = common.mb_per_s(size, seconds)
    ceiling = common.mb_per_s(size, watch.cpu_seconds)
    print('  %s: %.2f s, %.0f MB/s, bytes %s; server RSS %.0f -> peak %.0f MiB, '
          'server CPU %.2f s (%.0f MB/s per core-second)'
          % (direction, seconds, speed, 'verified' if verified else 'WRONG',
             watch.start_mib, watch.peak_mib, watch.cpu_seconds, ceiling))
    summary.add('curl %s throughput' % direction, '%.0f MB/s' % speed, '', None,
                '>= %.0f MB/s' % THROUGHPUT_TARGET_MB_S,
                verified and speed >= THROUGHPUT_TARGET_MB_S)
    # Load-independent: the rate the server's own CPU time allows on a free core.
    summary.add('server CPU-bound ceiling, %s' % direction, '%.0f MB/s' % ceiling,
                'CPU %.2f s' % watch.cpu_seconds)
    summary.add('server RSS growth, %s' % direction, '%.1f MiB' % watch.growth_mib,
                'start %.0f MiB' % watch.start_mib, None,
                '< %.0f MiB' % RSS_GROWTH_TARGET_MIB, watch.growth_mib < RSS_GROWTH_TARGET_MIB)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='small sizes, a few seconds')
    parser.add_argument('--size-mib', type=int, help='size of the big file (default 1024)')
    parser.add_argument('--calls', type=int, help='latency calls per client (default 3000)')
    return common.fill_defaults(parser.parse_args(argv), size_mib=(64, 1024),
                                calls=(300, 3000))


def main(argv=None):
    args = parse_args(argv)
    summary = common.Summary('bench_server summary (big file %d MiB)' % args.size_mib)
    with common.scratch_dir('pydas-bench-server-') as work_dir:
        with common.ServerProcess(work_dir) as server:
            print('server %s (pid %d)' % (server.url, server.pid))
            bench_version_latency(server, args.calls, summary)
            bench_big_transfer(server, work_dir, args.size_mib * MiB, summary)
    summary.print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
