"""The checksum cache: hits only for files as they were hashed, correct MD5s whatever happens
to the cache file."""

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
import types

import pytest

from pydas import checksumcache, userdirs
from pydas.checksumcache import ChecksumCache, file_md5_cached

CONTENT = b'archived series\n' * 4096
CONTENT_MD5 = hashlib.md5(CONTENT).hexdigest()
OTHER_MD5 = 'f' * 32
ROOT = os.geteuid() == 0


@pytest.fixture
def reads(monkeypatch):
    """The paths :func:`file_md5_cached` read to hash them, in order."""
    paths = []
    real_md5_state = checksumcache.md5_state

    def counting_md5_state(path):
        paths.append(path)
        return real_md5_state(path)
    monkeypatch.setattr(checksumcache, 'md5_state', counting_md5_state)
    return paths


def change_until_ctime_moves(path, change):
    """Call ``change(path)`` until the file's ctime differs (times are kept per clock tick)."""
    before = os.stat(path).st_ctime_ns
    deadline = time.monotonic() + 5
    while os.stat(path).st_ctime_ns == before:
        assert time.monotonic() < deadline, 'the ctime of {0} never moved'.format(path)
        change(path)


def rows(cache):
    with sqlite3.connect(cache.path) as connection:
        return connection.execute('SELECT path, md5 FROM checksums').fetchall()


def test_second_hash_of_an_unchanged_file_reads_nothing(make_file, reads):
    path = make_file('a.bin', CONTENT)
    cache = ChecksumCache()
    assert file_md5_cached(path, cache) == (CONTENT_MD5, len(CONTENT))
    assert file_md5_cached(path, cache) == (CONTENT_MD5, len(CONTENT))
    assert reads == [path]
    assert cache.path == os.path.join(userdirs.user_cache_dir(), 'checksums.sqlite')
    assert rows(cache) == [(os.fsencode(path), CONTENT_MD5)]


def test_default_cache_follows_the_environment(make_file, reads, private_user_dirs, monkeypatch):
    path = make_file('a.bin', CONTENT)
    assert file_md5_cached(path) == file_md5_cached(path) == (CONTENT_MD5, len(CONTENT))
    assert len(reads) == 1
    first = checksumcache.default_cache()
    assert first is checksumcache.default_cache()
    assert first.path == str(private_user_dirs / 'cache' / 'pydas' / 'checksums.sqlite')
    monkeypatch.setenv('XDG_CACHE_HOME', str(private_user_dirs / 'elsewhere'))
    assert checksumcache.default_cache().path.startswith(str(private_user_dirs / 'elsewhere'))
    assert file_md5_cached(path) == (CONTENT_MD5, len(CONTENT))
    assert len(reads) == 2


@pytest.mark.parametrize('field', ['st_size', 'st_mtime_ns', 'st_ctime_ns', 'st_ino', 'st_dev'])
def test_any_stat_field_that_differs_misses(tmp_path, field):
    cache = ChecksumCache()
    stored = os.stat(tmp_path)
    cache.store(tmp_path / 'f', stored, CONTENT_MD5)
    fields = {name: getattr(stored, name)
              for name in ('st_size', 'st_mtime_ns', 'st_ctime_ns', 'st_ino', 'st_dev')}
    assert cache.lookup(tmp_path / 'f', types.SimpleNamespace(**fields)) == CONTENT_MD5
    fields[field] += 1
    assert cache.lookup(tmp_path / 'f', types.SimpleNamespace(**fields)) is None
    assert cache.lookup(tmp_path / 'g', stored) is None


def test_full_64_bit_inode_and_device_numbers(tmp_path):
    cache = ChecksumCache()
    huge = types.SimpleNamespace(st_size=1, st_mtime_ns=2, st_ctime_ns=3,
                                 st_ino=2 ** 64 - 1, st_dev=2 ** 63)
    cache.store(tmp_path / 'f', huge, CONTENT_MD5)
    assert cache.lookup(tmp_path / 'f', huge) == CONTENT_MD5
    assert cache.lookup(tmp_path / 'f', types.SimpleNamespace(
        st_size=1, st_mtime_ns=2, st_ctime_ns=3, st_ino=2 ** 64 - 2, st_dev=2 ** 63)) is None


def append(path):
    with open(path, 'ab') as stream:
        stream.write(b'!')


def same_size_same_mtime(path):
    mtime_ns = os.stat(path).st_mtime_ns
    with open(path, 'r+b') as stream:
        stream.write(b'X')
    os.utime(path, ns=(mtime_ns, mtime_ns))


def replace_keeping_times(path):
    # Same content and times, another inode: the file was replaced.
    previous = os.stat(path)
    with open(path + '.new', 'wb') as stream:
        stream.write(open(path, 'rb').read())
    os.utime(path + '.new', ns=(previous.st_atime_ns, previous.st_mtime_ns))
    os.replace(path + '.new', path)
    assert os.stat(path).st_ino != previous.st_ino


def toggle_mode(path):
    os.chmod(path, os.stat(path).st_mode ^ 0o004)


@pytest.mark.parametrize('change', [
    append,
    lambda path: os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 1)),
    lambda path: change_until_ctime_moves(path, toggle_mode),
    lambda path: change_until_ctime_moves(path, same_size_same_mtime),
    replace_keeping_times,
], ids=['size', 'mtime', 'ctime (chmod)', 'rewritten, mtime kept', 'replaced (inode)'])
def test_a_changed_file_is_hashed_again(make_file, reads, change):
    path = make_file('a.bin', CONTENT)
    cache = ChecksumCache()
    file_md5_cached(path, cache)
    change(path)
    content = open(path, 'rb').read()
    expected = (hashlib.md5(content).hexdigest(), len(content))
    assert file_md5_cached(path, cache) == expected
    assert file_md5_cached(path, cache) == expected
    assert reads == [path, path]


@pytest.mark.parametrize('change', [
    append,
    lambda path: change_until_ctime_moves(path, same_size_same_mtime),
], ids=['appended', 'rewritten, size and mtime kept'])
def test_a_file_changing_while_hashed_is_not_cached(make_file, reads, monkeypatch, change):
    path = make_file('a.bin', CONTENT)
    real_md5_state = checksumcache.md5_state

    def md5_state_then_change(path):
        state = real_md5_state(path)
        change(path)
        return state
    monkeypatch.setattr(checksumcache, 'md5_state', md5_state_then_change)
    cache = ChecksumCache()
    assert file_md5_cached(path, cache) == (CONTENT_MD5, len(CONTENT))
    assert rows(cache) == []
    monkeypatch.setattr(checksumcache, 'md5_state', real_md5_state)
    content = open(path, 'rb').read()
    assert file_md5_cached(path, cache) == (hashlib.md5(content).hexdigest(), len(content))


def test_a_file_modified_just_now_is_not_cached(tmp_path):
    path = tmp_path / 'fresh.bin'
    path.write_bytes(CONTENT)
    cache = ChecksumCache()
    assert checksumcache.RACY_NS == 2 * 10 ** 9
    assert file_md5_cached(path, cache) == (CONTENT_MD5, len(CONTENT))
    assert rows(cache) == []


def test_only_regular_files_are_cached(reads):
    cache = ChecksumCache()
    assert file_md5_cached(os.devnull, cache) == (hashlib.md5(b'').hexdigest(), 0)
    assert file_md5_cached(os.devnull, cache)[0] == hashlib.md5(b'').hexdigest()
    assert len(reads) == 2
    assert not os.path.exists(cache.path)


def test_names_that_are_not_utf8_and_relative_paths(make_file, reads, tmp_path, monkeypatch):
    name = os.fsdecode(b'scan-\xff\xfe.dcm')
    path = make_file(name, CONTENT)
    monkeypatch.chdir(tmp_path)
    cache = ChecksumCache()
    assert file_md5_cached(name, cache) == (CONTENT_MD5, len(CONTENT))
    assert file_md5_cached(path, cache) == (CONTENT_MD5, len(CONTENT))
    assert file_md5_cached(os.fsencode(path), cache) == (CONTENT_MD5, len(CONTENT))
    assert reads == [name]
    assert rows(cache) == [(os.fsencode(path), CONTENT_MD5)]


@pytest.mark.parametrize('value', ['off', '0', 'false', 'NO', ' Off '])
def test_environment_variable_turns_it_off(make_file, reads, monkeypatch, value):
    monkeypatch.setenv('PYDAS_CHECKSUM_CACHE', value)
    path = make_file('a.bin', CONTENT)
    for cache in (None, ChecksumCache()):
        assert file_md5_cached(path, cache) == file_md5_cached(path, cache)
    assert len(reads) == 4
    assert not checksumcache.default_cache().enabled
    assert not os.path.exists(userdirs.user_cache_dir())
    assert ChecksumCache(enabled=True).enabled


def test_option_turns_it_off(make_file, reads):
    path = make_file('a.bin', CONTENT)
    cache = ChecksumCache(enabled=False)
    cache.store(path, os.stat(path), CONTENT_MD5)
    assert file_md5_cached(path, cache) == file_md5_cached(path, cache) == (
        CONTENT_MD5, len(CONTENT))
    assert len(reads) == 2
    assert not os.path.exists(cache.path)


def test_store_refuses_what_is_not_an_md5(tmp_path):
    for md5 in ('A' * 32, 'a' * 31, None, b'a' * 32):
        with pytest.raises(ValueError):
            ChecksumCache().store(tmp_path, os.stat(tmp_path), md5)


def test_least_recently_used_entries_go_beyond_the_cap(tmp_path):
    cache = ChecksumCache(tmp_path / 'capped.sqlite', max_entries=100)
    stat_result = os.stat(tmp_path)
    cache.store(tmp_path / 'first', stat_result, OTHER_MD5)
    with sqlite3.connect(cache.path, isolation_level=None) as connection:
        for number in range(300):
            cache.store(tmp_path / str(number), stat_result, OTHER_MD5)
            # Each entry used a second later than the one before.
            connection.execute('UPDATE checksums SET used = ? WHERE path = ?',
                               (number, os.fsencode(str(tmp_path / str(number)))))
        count, = connection.execute('SELECT count(*) FROM checksums').fetchone()
    assert 90 <= count <= 100
    assert cache.lookup(tmp_path / '299', stat_result) == OTHER_MD5
    assert cache.lookup(tmp_path / '0', stat_result) is None


# --- a cache that cannot be used: correct MD5s, one warning -----------------------------------

def assert_falls_back(path, cache, reads, pydas_warnings, reason):
    for _ in range(3):
        assert file_md5_cached(path, cache) == (CONTENT_MD5, len(CONTENT))
    assert len(reads) == 3
    assert not cache.enabled
    warnings = pydas_warnings()
    assert len(warnings) == 1, warnings
    assert cache.path in warnings[0] and reason in warnings[0]
    # Another object on the same file in this process stays quiet.
    assert file_md5_cached(path, ChecksumCache(cache.path)) == (CONTENT_MD5, len(CONTENT))
    assert len(pydas_warnings()) == 1


def test_corrupt_cache_file(make_file, reads, pydas_warnings):
    path = make_file('a.bin', CONTENT)
    cache = ChecksumCache()
    userdirs.make_private_dirs(os.path.dirname(cache.path))
    with open(cache.path, 'wb') as stream:
        stream.write(os.urandom(8192))
    assert_falls_back(path, cache, reads, pydas_warnings, 'not a database')


def test_cache_file_damaged_after_its_header(make_file, reads, pydas_warnings, tmp_path):
    path = make_file('a.bin', CONTENT)
    cache = ChecksumCache(tmp_path / 'damaged.sqlite')
    for number in range(2000):
        cache.store(tmp_path / str(number), os.stat(path), OTHER_MD5)
    cache.close()
    with open(cache.path, 'r+b') as stream:
        # Keep the first page (header and schema); overwrite the b-tree pages.
        stream.seek(4096)
        stream.write(b'\xa5' * (os.path.getsize(cache.path) - 4096))
    assert_falls_back(path, cache, reads, pydas_warnings, 'malformed')


def test_cache_locked_beyond_the_busy_timeout(make_file, reads, pydas_warnings, tmp_path):
    path = make_file('a.bin', CONTENT)
    created = ChecksumCache(tmp_path / 'locked.sqlite')
    created.lookup(path, os.stat(path))
    created.close()
    holder = sqlite3.connect(str(tmp_path / 'locked.sqlite'), isolation_level=None)
    try:
        holder.execute('PRAGMA locking_mode=EXCLUSIVE')
        holder.execute('BEGIN EXCLUSIVE')
        holder.execute('DELETE FROM checksums')
        cache = ChecksumCache(tmp_path / 'locked.sqlite', busy_timeout=0.1)
        assert_falls_back(path, cache, reads, pydas_warnings, 'locked')
    finally:
        holder.close()


def test_cache_write_locked_while_in_use(make_file, reads, pydas_warnings, tmp_path):
    # A reader goes on while another connection writes; the first write that waits
    # longer than the timeout disables the cache.
    path = make_file('a.bin', CONTENT)
    cache = ChecksumCache(tmp_path / 'busy.sqlite', busy_timeout=0.1)
    other = make_file('b.bin', CONTENT[1:])
    file_md5_cached(other, cache)
    holder = sqlite3.connect(cache.path, isolation_level=None)
    try:
        holder.execute('BEGIN EXCLUSIVE')
        assert file_md5_cached(other, cache)[1] == len(CONTENT) - 1
        assert len(reads) == 1
        reads.clear()
        assert_falls_back(path, cache, reads, pydas_warnings, 'locked')
    finally:
        holder.close()


def test_cache_directory_under_a_file(make_file, reads, pydas_warnings, tmp_path, monkeypatch):
    # Root writes anywhere: a parent that is a regular file fails for everybody.
    (tmp_path / 'plain-file').write_bytes(b'')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'plain-file' / 'cache'))
    path = make_file('a.bin', CONTENT)
    assert_falls_back(path, checksumcache.default_cache(), reads, pydas_warnings,
                      'Not a directory')


@pytest.mark.skipif(ROOT, reason='root ignores directory permissions')
def test_read_only_cache_directory(make_file, reads, pydas_warnings, tmp_path, monkeypatch):
    (tmp_path / 'read-only').mkdir(mode=0o500)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'read-only'))
    path = make_file('a.bin', CONTENT)
    assert_falls_back(path, checksumcache.default_cache(), reads, pydas_warnings,
                      'Permission denied')


def test_symbolic_link_at_the_cache_file_is_not_followed(make_file, reads, pydas_warnings,
                                                         tmp_path):
    path = make_file('a.bin', CONTENT)
    (tmp_path / 'target').write_bytes(b'precious')
    os.symlink(tmp_path / 'target', tmp_path / 'link.sqlite')
    assert_falls_back(path, ChecksumCache(tmp_path / 'link.sqlite'), reads, pydas_warnings,
                      'symbolic links')
    assert (tmp_path / 'target').read_bytes() == b'precious'


FULL_DISK_CHILD = r'''
import hashlib, logging, os, resource, signal, sys
from pydas import checksumcache
logging.basicConfig(format='%(levelname)s %(message)s')
checksumcache.RACY_NS = 0
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
data, cache_path = sys.argv[1:]
cache = checksumcache.ChecksumCache(cache_path)
cache.lookup(data, os.stat(data))
# From now on no file may grow beyond 64 KiB, as on a full disk.
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
for number in range(5000):
    cache.store('/no/such/file/%d' % number, os.stat(data), 'e' * 32)
assert not cache.enabled
expected = hashlib.md5(open(data, 'rb').read()).hexdigest()
assert checksumcache.file_md5_cached(data, cache)[0] == expected
print('hashed')
'''


def test_full_disk(make_file, tmp_path):
    path = make_file('a.bin', CONTENT)
    child = subprocess.run(
        [sys.executable, '-c', FULL_DISK_CHILD, path, str(tmp_path / 'full.sqlite')],
        capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout == 'hashed\n'
    warnings = child.stderr.splitlines()
    assert len(warnings) == 1 and 'full.sqlite' in warnings[0], warnings
    assert 'full' in warnings[0] or 'I/O' in warnings[0]


# --- concurrency --------------------------------------------------------------------------

def test_threads_share_one_cache(tmp_path, pydas_warnings):
    cache = ChecksumCache()
    stat_result = os.stat(tmp_path)
    errors = []

    def work(thread):
        try:
            for number in range(500):
                name = tmp_path / '{0}-{1}'.format(thread, number)
                md5 = hashlib.md5(str(name).encode()).hexdigest()
                cache.store(name, stat_result, md5)
                assert cache.lookup(name, stat_result) == md5
        except Exception as error:  # reported by the main thread
            errors.append(error)
    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and pydas_warnings() == []
    assert len(rows(cache)) == 4000


WRITER_CHILD = r'''
import hashlib, os, sys, time
from pydas.checksumcache import ChecksumCache
cache_path, unchanging, go, name = sys.argv[1:]
cache = ChecksumCache(cache_path)
stat_result = os.stat(unchanging)
print('ready', flush=True)
deadline = time.monotonic() + 30
while not os.path.exists(go):
    assert time.monotonic() < deadline
for number in range(3000):
    path = '/{0}/{1}'.format(name, number)
    cache.store(path, stat_result, hashlib.md5(path.encode()).hexdigest())
    if number % 3 == 0:
        assert cache.lookup(path, stat_result) is not None
assert cache.enabled
'''


def test_two_processes_writing_at_once(tmp_path):
    cache = ChecksumCache()
    unchanging = tmp_path / 'unchanging'
    unchanging.write_bytes(b'')
    stat_result = os.stat(unchanging)
    cache.lookup(unchanging, stat_result)
    go = tmp_path / 'go'
    children = [subprocess.Popen(
        [sys.executable, '-c', WRITER_CHILD, cache.path, str(unchanging), str(go), name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ('one', 'two')]
    try:
        for child in children:
            assert child.stdout.readline() == 'ready\n'
        go.write_bytes(b'')
        results = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    for child, (_, stderr) in zip(children, results):
        assert child.returncode == 0 and stderr == '', stderr
    with sqlite3.connect(cache.path) as connection:
        assert connection.execute('PRAGMA integrity_check').fetchall() == [('ok',)]
    for name in ('one', 'two'):
        for number in range(3000):
            path = '/{0}/{1}'.format(name, number)
            assert cache.lookup(path, stat_result) == hashlib.md5(path.encode()).hexdigest()
