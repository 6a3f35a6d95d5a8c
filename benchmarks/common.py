"""Helpers shared by the benchmark scripts: timing, the server process, raw API calls, curl.

Not a test module. Every figure is measured against a baseline taken in the same run,
against the same embedded server (``python -m pydas.testing``) running in a child process,
so that the client and the server do not share one interpreter lock.
"""

import contextlib
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import requests

KiB = 1024
MiB = 1024 * KiB
MB = 1000 * 1000

SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 15.0


# --- command line -------------------------------------------------------------------------

def fill_defaults(args, **defaults):
    """Give every option of ``args`` left unset its default: ``name=(quick, full)``, the
    first with ``--quick``."""
    for name, (quick, full) in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, quick if args.quick else full)
    return args


# --- timing ---------------------------------------------------------------------------------

class Stopwatch(object):
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = None
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self.start
        return False


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))
    return ordered[index]


def latency_samples(call, count, warmup=20):
    """Run ``call`` ``warmup`` times, then ``count`` times; return the per-call seconds."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def compare_latency(calls, count, rounds=5):
    """Measure several callables in interleaved rounds, so drift hits them all alike.

    :param calls: dict name -> callable
    :returns: dict name -> (median seconds, p95 seconds)
    """
    samples = {name: [] for name in calls}
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        for name, call in calls.items():
            samples[name].extend(latency_samples(call, per_round, warmup=5))
    return {name: (statistics.median(values), percentile(values, 0.95))
            for name, values in samples.items()}


def mb_per_s(size, seconds):
    return size / seconds / MB


# --- summary table --------------------------------------------------------------------------

class Summary(object):
    """Rows of (figure, measured, baseline, ratio, target, verdict), printed as a table."""

    def __init__(self, title):
        self.title = title
        self.rows = []
        self.load_at_start = os.getloadavg()[0]
        print('load average at start: %.2f on %d CPU(s); figures are noisy on a busy host'
              % (self.load_at_start, os.cpu_count()))

    def add(self, figure, measured, baseline='', ratio=None, target='', passed=None):
        verdict = 'INFO' if passed is None else ('PASS' if passed else 'FAIL')
        ratio_text = '' if ratio is None else '%.2fx' % ratio
        self.rows.append((figure, measured, baseline, ratio_text, target, verdict))
        print('  -> %s: %s%s%s %s' % (figure, measured,
                                      ' vs %s' % baseline if baseline else '',
                                      ' (%s)' % ratio_text if ratio_text else '',
                                      '[%s: %s]' % (target, verdict) if target else ''))

    def skip(self, figure, reason):
        self.rows.append((figure, 'skipped', '', '', '', 'SKIP'))
        print('  -> %s: skipped (%s)' % (figure, reason))

    def print(self):
        header = ('figure', 'measured', 'baseline', 'ratio', 'target', 'verdict')
        widths = [max(len(str(row[i])) for row in self.rows + [header]) for i in range(6)]
        line = '  '.join('-' * width for width in widths)
        print('\n%s\n%s' % (self.title, line))
        for row in [header] + self.rows:
            print('  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)))
        print(line)
        failed = sum(1 for row in self.rows if row[5] == 'FAIL')
        print('%d figure(s), %d FAIL; load average %.2f at start, %.2f at end (%d CPUs)'
              % (len(self.rows), failed, self.load_at_start, os.getloadavg()[0],
                 os.cpu_count()))


def section(title):
    print('\n== %s' % title, flush=True)


# --- files ----------------------------------------------------------------------------------

def write_random_file(path, size, seed):
    """Write ``size`` pseudo-random bytes, distinct for each seed; return the MD5 hex.

    One random MiB is repeated with the seed and block number stamped in front of each
    block, so every block (and every file) has its own content, cheaply.
    """
    block = random.Random(seed).randbytes(MiB)
    digest = hashlib.md5()
    with open(path, 'wb') as out:
        written = 0
        number = 0
        while written < size:
            chunk = (b'%016x%016x' % (seed, number) + block[32:])[:size - written]
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            number += 1
    return digest.hexdigest()


def write_small_files(directory, count, seed, min_size=KiB, max_size=16 * KiB):
    """Create ``count`` random files of random sizes; return {name: bytes}."""
    os.makedirs(directory)
    sizes = random.Random(1).choices(range(min_size, max_size + 1), k=count)
    content = random.Random(seed)
    files = {}
    for number, size in enumerate(sizes):
        name = 'f%05d.bin' % number
        data = content.randbytes(size)
        with open(os.path.join(directory, name), 'wb') as out:
            out.write(data)
        files[name] = data
    return files


def compare_trees(expected, directory):
    """Return the number of files in ``expected`` ({name: bytes}) that differ or are missing."""
    bad = 0
    for name, data in expected.items():
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            bad += 1
            continue
        with open(path, 'rb') as source:
            if source.read() != data:
                bad += 1
    return bad


def stop_child(process):
    """Stop a child started with ``stdout=PIPE``: Ctrl-C, then kill if it lingers."""
    process.send_signal(2)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    process.stdout.close()


@contextlib.contextmanager
def scratch_dir(prefix):
    path = tempfile.mkdtemp(prefix=prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- process memory -------------------------------------------------------------------------

def proc_memory_kib(pid):
    """VmRSS and VmHWM of a process, in KiB, from /proc/<pid>/status."""
    values = {}
    with open('/proc/%d/status' % pid) as status:
        for line in status:
            key, _, rest = line.partition(':')
            if key in ('VmRSS', 'VmHWM'):
                values[key] = int(rest.split()[0])
    return values


def reset_peak_rss(pid):
    """Reset VmHWM to the current RSS (Linux >= 4.0); return False if not allowed."""
    try:
        with open('/proc/%d/clear_refs' % pid, 'w') as clear_refs:
            clear_refs.write('5')
        return True
    except OSError:
        return False


def process_cpu_seconds(pid):
    """User + system CPU time of a process so far, from /proc/<pid>/stat."""
    with open('/proc/%d/stat' % pid) as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))


class ProcessWatch(object):
    """Peak RSS growth (MiB), CPU time (s) and bytes read of a process over a ``with`` block.

    The peak is VmHWM after resetting it, cross-checked by a 20 ms VmRSS sampler (the only
    source where clear_refs is not writable). CPU time does not depend on how busy the host
    is, so ``size / cpu_seconds`` is the throughput the process could reach on a free core.
    """

    def __init__(self, pid):
        self.pid = pid
        self._stop = threading.Event()

    def _sample(self):
        while not self._stop.wait(0.02):
            self.sampled = max(self.sampled, proc_memory_kib(self.pid)['VmRSS'])

    def __enter__(self):
        self.hwm_reset = reset_peak_rss(self.pid)
        self.start_kib = proc_memory_kib(self.pid)['VmRSS']
        self.sampled = self.start_kib
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.cpu_start = process_cpu_seconds(self.pid)
        self.rchar_start = proc_rchar(self.pid)
        return self

    def __exit__(self, *exc_info):
        self.cpu_seconds = process_cpu_seconds(self.pid) - self.cpu_start
        self.rchar = proc_rchar(self.pid) - self.rchar_start
        self._stop.set()
        self._thread.join()
        memory = proc_memory_kib(self.pid)
        peak = max(self.sampled, memory['VmHWM'] if self.hwm_reset else 0)
        self.peak_mib = peak / 1024.0
        self.start_mib = self.start_kib / 1024.0
        self.growth_mib = self.peak_mib - self.start_mib
        return False


def proc_rchar(pid):
    """Bytes the process has read so far (files, pipes and sockets), from /proc/<pid>/io."""
    with open('/proc/%d/io' % pid) as io:
        for line in io:
            key, _, value = line.partition(':')
            if key == 'rchar':
                return int(value)
    raise RuntimeError('no rchar in /proc/%d/io' % pid)


def median_of(runs, key):
    """The median of ``run[key]`` over a list of dicts."""
    return statistics.median(run[key] for run in runs)


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(command):
    """Run a command to completion; return (wall seconds, its CPU seconds, its stdout)."""
    cpu_start = children_cpu_seconds()
    with Stopwatch() as watch:
        output = subprocess.run(command, check=True, stdout=subprocess.PIPE).stdout
    return watch.seconds, children_cpu_seconds() - cpu_start, output


# --- the embedded server in a child process --------------------------------------------------

class ServerProcess(object):
    """``python -m pydas.testing --json`` in a child process (optionally in a netns)."""

    def __init__(self, data_dir, host='127.0.0.1', netns=None, options=()):
        self.data_dir = data_dir
        self.host = host
        self.netns = netns
        self.options = list(options)
        self.process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()
        return False

    def command(self):
        prefix = ['ip', 'netns', 'exec', self.netns] if self.netns else []
        return prefix + [sys.executable, '-m', 'pydas.testing', '--json', '--host', self.host,
                         '--port', '0', '--data-dir', os.path.join(self.data_dir, 'server')
                         ] + self.options

    def start(self):
        self.log_path = os.path.join(self.data_dir, 'server.log')
        with open(self.log_path, 'wb') as log:
            # `ip netns exec` execs the command, so the pid is the server's own.
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            with open(self.log_path, 'rb') as log:
                first_line = log.readline()
            if first_line.endswith(b'\n'):
                self._read_credentials(first_line)
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError('the server did not start:\n' + self.log())

    def _read_credentials(self, line):
        try:
            info = json.loads(line)
        except ValueError:
            self.stop()
            raise RuntimeError('the server printed no JSON line first:\n' + self.log())
        self.url = info['url'].rstrip('/')
        self.email = info['email']
        self.password = info['password']
        self.api_key = info['api_key']

    def log(self):
        with open(self.log_path, 'rb') as log:
            return log.read()[-4000:].decode('utf-8', 'replace')

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(2)  # SIGINT: "serves until interrupted"
        try:
            self.process.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(SERVER_STOP_TIMEOUT)


# --- raw JSON API calls (setup, and the naive baseline) -------------------------------------

class ApiFailure(Exception):
    pass


class RawApi(object):
    """Bare Midas JSON calls. ``session=None`` means a new connection per call."""

    def __init__(self, url, session=None):
        self.url = url
        self.http = session if session is not None else requests

    def call(self, method, **params):
        response = self.http.post(self.url + '/api/json', params=dict(method=method, **params))
        response.raise_for_status()
        envelope = response.json()
        if envelope['stat'] != 'ok':
            raise ApiFailure('%s: %s %s' % (method, envelope['code'], envelope['message']))
        return envelope['data']

    def login(self, email, api_key):
        return self.call('midas.login', email=email, apikey=api_key, appname='Default')['token']

    def private_folder_id(self, token):
        folders = self.call('midas.user.folders', token=token)
        return next(folder['folder_id'] for folder in folders if folder['name'] == 'Private')

    def create_folder(self, token, name, parent_id):
        return self.call('midas.folder.create', token=token, name=name,
                         parentid=parent_id)['folder_id']

    def upload_token_for_new_item(self, token, folder_id, name):
        item_id = self.call('midas.item.create', token=token, name=name,
                            parentid=folder_id)['item_id']
        upload_token = self.call('midas.upload.generatetoken', token=token, itemid=item_id,
                                 filename=name)['token']
        return item_id, upload_token

    def head_bitstream(self, token, item_id):
        item = self.call('midas.item.get', token=token, id=item_id, head='')
        return item['revisions'][-1]['bitstreams'][0]

    def user_path(self, email):
        """The ``/users/<first>_<last>`` prefix pydas.download understands."""
        user = self.call('midas.user.get', email=email)
        return '/users/%s_%s' % (user['firstname'], user['lastname'])


# --- curl as the reference client ----------------------------------------------------------

def curl_upload(url, upload_token, filename, path, size):
    """PUT midas.upload.perform with curl; return (seconds, curl's CPU seconds, envelope)."""
    query = urllib.parse.urlencode(dict(method='midas.upload.perform', uploadtoken=upload_token,
                                        filename=filename, length=size, revision='head'))
    # No "Expect: 100-continue": the first second would be spent waiting for it.
    seconds, cpu_seconds, output = run_timed(
        ['curl', '-sS', '-H', 'Expect:', '-T', path, url + '/api/json?' + query])
    return seconds, cpu_seconds, json.loads(output)


def curl_download(url, token, bitstream_id, out_path):
    """midas.bitstream.download, redirect followed, with curl; return (seconds, CPU seconds).

    The token goes in the POST body (curl turns the redirected request into a GET).
    """
    seconds, cpu_seconds, _ = run_timed(
        ['curl', '-sS', '--fail', '-L', '-o', out_path, '-d', 'token=' + token,
         url + '/api/json?method=midas.bitstream.download&id=%s' % bitstream_id])
    return seconds, cpu_seconds
