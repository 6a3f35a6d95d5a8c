"""Benchmark the embedded server's cost per file as one folder fills up.

Run from the repository root::

    python benchmarks/bench_server_scale.py            # folders of 1,000 and 5,000 items
    python benchmarks/bench_server_scale.py --full     # also 50,000 (a few minutes)

The server runs as ``python -m pydas.testing --json`` in a child process. For each size N
a new folder is filled with N one-file items over raw HTTP (``midas.upload.generatetoken``
with ``folderid``, then a PUT ``midas.upload.perform``), then measured while it holds N:

1. the per-file cost of uploading more files into it (generatetoken + perform): median
   of several batches, wall time and the server's CPU time per file;
2. the cost per listed item of ``midas.folder.children`` on the full folder.

Each figure is compared with the one at the smallest N (the baseline, same run, same
server): a flat per-file cost gives a ratio near 1. The target (<= 1.5x) applies to the
server's CPU time, which does not depend on how busy the host is; wall times are shown.
"""

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse

import common

RATIO_TARGET = 1.5


class LeanApi(object):
    """JSON calls over one keep-alive ``http.client`` connection (the leanest client)."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def call(self, method, body=None, **params):
        query = urllib.parse.urlencode(dict(params, method=method))
        self.connection.request('PUT' if body is not None else 'POST',
                                '/api/json?' + query, body=body)
        response = self.connection.getresponse()
        envelope = json.loads(response.read())
        if envelope['stat'] != 'ok':
            raise common.ApiFailure('%s: %s' % (method, envelope['message']))
        return envelope['data']

    def upload_new_item(self, token, folder_id, name):
        """One file into a new item of the folder (generatetoken with folderid + perform)."""
        upload_token = self.call('midas.upload.generatetoken', token=token, folderid=folder_id,
                                 filename=name)['token']
        content = name.encode('utf-8')
        self.call('midas.upload.perform', body=content, uploadtoken=upload_token,
                  filename=name, length=len(content))

    def close(self):
        self.connection.close()


def fill(api, token, folder_id, prefix, start, stop):
    for number in range(start, stop):
        api.upload_new_item(token, folder_id, '%s-%06d.txt' % (prefix, number))


def measure_uploads(api, server, token, folder_id, prefix, size, batches, per_batch):
    """Median wall ms and mean server CPU ms per uploaded file, the folder holding ~size."""
    wall, cpu_start = [], common.process_cpu_seconds(server.pid)
    for batch in range(batches):
        start = time.perf_counter()
        first = size + batch * per_batch
        fill(api, token, folder_id, prefix, first, first + per_batch)
        wall.append((time.perf_counter() - start) / per_batch * 1000)
    cpu_seconds = common.process_cpu_seconds(server.pid) - cpu_start
    return statistics.median(wall), cpu_seconds / (batches * per_batch) * 1000


def measure_listing(api, server, token, folder_id, rounds):
    """Median wall µs and server CPU µs per listed item of folder.children."""
    wall, cpu_start, count = [], common.process_cpu_seconds(server.pid), 0
    for _ in range(rounds):
        start = time.perf_counter()
        children = api.call('midas.folder.children', token=token, id=folder_id)
        count = len(children['items'])
        wall.append((time.perf_counter() - start) / count * 1e6)
    cpu_us = (common.process_cpu_seconds(server.pid) - cpu_start) / (rounds * count) * 1e6
    return statistics.median(wall), cpu_us, count


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--full', action='store_true', help='also a folder of 50,000 items')
    parser.add_argument('--sizes', type=int, nargs='+', help='folder sizes (default 1000 5000)')
    parser.add_argument('--batches', type=int, default=5, help='measured batches per size')
    parser.add_argument('--per-batch', type=int, default=100, help='uploads per batch')
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = [1000, 5000] + ([50000] if args.full else [])
    return args


def main(argv=None):
    args = parse_args(argv)
    summary = common.Summary('bench_server_scale summary (folders of %s items)'
                             % ', '.join(str(size) for size in args.sizes))
    results = {}
    with common.scratch_dir('pydas-bench-scale-') as work_dir:
        with common.ServerProcess(work_dir) as server:
            print('server %s (pid %d)' % (server.url, server.pid))
            api = LeanApi(server.url)
            token = api.call('midas.login', email=server.email, apikey=server.api_key,
                             appname='Default')['token']
            folders = api.call('midas.user.folders', token=token)
            parent = next(f['folder_id'] for f in folders if f['name'] == 'Private')
            for size in args.sizes:
                common.section('a folder of %d items' % size)
                folder_id = api.call('midas.folder.create', token=token, name='n%d' % size,
                                     parentid=parent)['folder_id']
                with common.Stopwatch() as filling:
                    fill(api, token, folder_id, 'f', 0, size)
                print('  filled in %.1f s (%.2f ms per file)'
                      % (filling.seconds, filling.seconds / size * 1000))
                upload_ms, upload_cpu_ms = measure_uploads(api, server, token, folder_id, 'f',
                                                           size, args.batches, args.per_batch)
                list_us, list_cpu_us, listed = measure_listing(api, server, token, folder_id,
                                                               rounds=3)
                print('  upload: median %.3f ms per file, server CPU %.3f ms per file'
                      % (upload_ms, upload_cpu_ms))
                print('  folder.children of %d items: median %.2f us per item, server CPU '
                      '%.2f us per item' % (listed, list_us, list_cpu_us))
                results[size] = (upload_ms, upload_cpu_ms, list_us, list_cpu_us)
            api.close()
    base_size = args.sizes[0]
    base = results[base_size]
    names = ('upload ms/file (median)', 'upload server CPU ms/file',
             'folder.children us/item (median)', 'folder.children server CPU us/item')
    for size in args.sizes:
        for index, name in enumerate(names):
            value, reference = results[size][index], base[index]
            if size == base_size:
                summary.add('%s at %d' % (name, size), '%.3f' % value)
            elif 'CPU' in name:
                ratio = value / reference
                summary.add('%s at %d' % (name, size), '%.3f' % value,
                            '%.3f at %d' % (reference, base_size), ratio,
                            '<= %.1fx' % RATIO_TARGET, ratio <= RATIO_TARGET)
            else:  # wall time moves with the host's load: shown, not judged
                summary.add('%s at %d' % (name, size), '%.3f' % value,
                            '%.3f at %d' % (reference, base_size), value / reference)
    summary.print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
