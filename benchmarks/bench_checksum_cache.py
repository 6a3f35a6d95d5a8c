"""Benchmark the local checksum cache (``pydas.checksumcache``): a re-run that reads nothing.

Run from the repository root::

    python benchmarks/bench_checksum_cache.py            # 256 MiB in 512 files, 5 runs
    python benchmarks/bench_checksum_cache.py --quick    # 32 MiB in 128 files, 3 runs
    python benchmarks/bench_checksum_cache.py --size-mib 1024 --files 2000 --runs 3

Figures, medians over the runs (each run starts with an empty cache):

1. hashing the tree (listing it, then ``file_md5_cached`` for each file) with an empty cache,
   then again with the cache it filled: the second pass reads under 1% of the tree's bytes
   (target) and takes under 0.3x the first pass's wall time (target); bytes read are the
   ``rchar`` of ``/proc/self/io`` (every byte a read system call returned, the page cache
   included, the cache's own database too), CPU is the process's user+system time;
2. the first pass against plain ``pydas.checksums.file_md5`` (what filling the cache costs);
3. cache lookups per second from one thread and from 8 threads sharing one cache (the
   transfer engine's workers), and stores per second.

The tree is written once, then the script waits until its files are more than
``RACY_NS`` (2 s) old, since the cache does not keep the MD5 of files changed just before
they were read. Files just written are in the page cache, so the first pass is the
CPU-bound best case for hashing; from a cold disk its time only grows.
"""

import argparse
import os
import statistics
import sys
import threading
import time

import common
from common import MiB
from pydas import checksumcache
from pydas.checksumcache import ChecksumCache, file_md5_cached
from pydas.checksums import file_md5

BYTES_READ_TARGET = 0.01
WALL_TARGET = 0.3
LOOKUP_THREADS = 8
LOOKUPS_TARGET_PER_S = 5000


def read_chars():
    with open('/proc/self/io') as io:
        for line in io:
            key, _, value = line.partition(':')
            if key == 'rchar':
                return int(value)
    raise RuntimeError('no rchar in /proc/self/io')


def build_tree(root, total, count):
    """Write ``count`` files of varied sizes adding up to ``total`` bytes, in 16 folders."""
    weights = [1 + (number * 7919) % 13 for number in range(count)]
    sizes = [total * weight // sum(weights) for weight in weights]
    sizes[0] += total - sum(sizes)
    for number, size in enumerate(sizes):
        folder = os.path.join(root, 'series%02d' % (number % 16))
        os.makedirs(folder, exist_ok=True)
        common.write_random_file(os.path.join(folder, 'image%05d.dcm' % number), size, number)


def wait_until_settled(root):
    """Wait until every file of the tree is older than the cache's RACY_NS."""
    newest = max(os.stat(os.path.join(folder, name)).st_ctime_ns
                 for folder, _, names in os.walk(root) for name in names)
    remaining = (newest + checksumcache.RACY_NS - time.time_ns()) / 1e9 + 0.05
    if remaining > 0:
        print('waiting %.1f s until the files are older than RACY_NS' % remaining)
        time.sleep(remaining)


def hash_tree(root, hash_file):
    """List the tree and hash every file; return ({path: (md5, size)}, wall, cpu, bytes read)."""
    start_chars, start_cpu, start = read_chars(), time.process_time(), time.perf_counter()
    results = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            results[path] = hash_file(path)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return results, wall, cpu, read_chars() - start_chars


def lookups_per_second(cache, stats, threads, rounds):
    def work():
        for _ in range(rounds):
            for path, stat_result in stats:
                if cache.lookup(path, stat_result) is None:
                    raise AssertionError('cache miss for %s' % path)
    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * rounds * len(stats) / (time.perf_counter() - start)


def stores_per_second(cache, stats):
    start = time.perf_counter()
    for number, (path, stat_result) in enumerate(stats):
        cache.store(path + '.copy', stat_result, '%032x' % number)
    return len(stats) / (time.perf_counter() - start)


def bench_reruns(work_dir, tree, args, summary):
    common.section('re-run over an unchanged tree: %d MiB in %d files, %d runs'
                   % (args.size_mib, args.files, args.runs))
    figures = {key: [] for key in ('plain', 'first', 'cached', 'plain_cpu', 'first_cpu',
                                   'cached_cpu', 'first_read', 'cached_read')}
    for run in range(args.runs):
        expected, plain, plain_cpu, _ = hash_tree(tree, file_md5)
        cache = ChecksumCache(os.path.join(work_dir, 'run%d.sqlite' % run))
        first, first_wall, first_cpu, first_read = hash_tree(
            tree, lambda path: file_md5_cached(path, cache))
        cached, cached_wall, cached_cpu, cached_read = hash_tree(
            tree, lambda path: file_md5_cached(path, cache))
        if not cache.enabled or first != expected or cached != expected:
            raise AssertionError('the cache gave other checksums than plain hashing')
        cache.close()
        for key, value in (('plain', plain), ('first', first_wall), ('cached', cached_wall),
                           ('plain_cpu', plain_cpu), ('first_cpu', first_cpu),
                           ('cached_cpu', cached_cpu),
                           ('first_read', first_read), ('cached_read', cached_read)):
            figures[key].append(value)
        print('  run %d: plain %.3f s (CPU %.3f s); first pass %.3f s (CPU %.3f s, read %.1f MiB); '
              'cached pass %.4f s (CPU %.4f s, read %.1f KiB)'
              % (run + 1, plain, plain_cpu, first_wall, first_cpu, first_read / MiB,
                 cached_wall, cached_cpu, cached_read / 1024))
    median = {key: statistics.median(values) for key, values in figures.items()}
    tree_bytes = args.size_mib * MiB
    read_share = median['cached_read'] / tree_bytes
    summary.add('re-run bytes read / tree bytes', '%.1f KiB' % (median['cached_read'] / 1024),
                '%d MiB' % args.size_mib, None, '< %.0f%%' % (BYTES_READ_TARGET * 100),
                read_share < BYTES_READ_TARGET)
    print('     (%.4f%% of the tree)' % (read_share * 100))
    wall_ratio = median['cached'] / median['first']
    summary.add('re-run wall / first run wall', '%.4f s' % median['cached'],
                '%.3f s' % median['first'], wall_ratio, '< %.1fx' % WALL_TARGET,
                wall_ratio < WALL_TARGET)
    summary.add('re-run CPU / first run CPU', '%.4f s' % median['cached_cpu'],
                '%.3f s' % median['first_cpu'], median['cached_cpu'] / median['first_cpu'])
    summary.add('first run (fills the cache) / plain file_md5', '%.3f s' % median['first'],
                '%.3f s' % median['plain'], median['first'] / median['plain'])
    summary.add('same, CPU', '%.3f s' % median['first_cpu'], '%.3f s' % median['plain_cpu'],
                median['first_cpu'] / median['plain_cpu'])
    summary.add('re-run per file', '%.1f us' % (median['cached'] / args.files * 1e6))


def bench_lookups(work_dir, tree, summary):
    common.section('lookups and stores per second')
    cache = ChecksumCache(os.path.join(work_dir, 'lookups.sqlite'))
    hash_tree(tree, lambda path: file_md5_cached(path, cache))
    stats = [(os.path.join(folder, name), os.stat(os.path.join(folder, name)))
             for folder, _, names in os.walk(tree) for name in names]
    rounds = max(1, 20000 // len(stats))
    single = lookups_per_second(cache, stats, 1, rounds)
    shared = lookups_per_second(cache, stats, LOOKUP_THREADS, rounds)
    stores = stores_per_second(cache, stats)
    if not cache.enabled:
        raise AssertionError('the cache failed')
    cache.close()
    summary.add('lookups per second, 1 thread', '%.0f/s' % single)
    summary.add('lookups per second, %d threads' % LOOKUP_THREADS, '%.0f/s' % shared, '', None,
                '>= %d/s' % LOOKUPS_TARGET_PER_S, shared >= LOOKUPS_TARGET_PER_S)
    summary.add('stores per second, 1 thread', '%.0f/s' % stores)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='small tree, a few seconds')
    parser.add_argument('--size-mib', type=int, help='bytes in the tree (default 256)')
    parser.add_argument('--files', type=int, help='files in the tree (default 512)')
    parser.add_argument('--runs', type=int, help='runs to take the median of (default 5)')
    return common.fill_defaults(parser.parse_args(argv), size_mib=(32, 256), files=(128, 512),
                                runs=(3, 5))


def main(argv=None):
    args = parse_args(argv)
    summary = common.Summary('bench_checksum_cache summary (%d MiB in %d files)'
                             % (args.size_mib, args.files))
    with common.scratch_dir('pydas-bench-checksum-cache-') as work_dir:
        tree = os.path.join(work_dir, 'tree')
        build_tree(tree, args.size_mib * MiB, args.files)
        wait_until_settled(tree)
        bench_reruns(work_dir, tree, args, summary)
        bench_lookups(work_dir, tree, summary)
    summary.print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
