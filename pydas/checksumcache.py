"""The local checksum cache: the MD5 of files that have not changed since they were hashed.

Uploads hash every file before sending it, and downloads check what they
already hold; a re-run over an unchanged tree would read every byte again.
The cache remembers each file's MD5 under its absolute path together with
its size, modification and change times (in nanoseconds), inode and device:
a file whose stat differs in any of them is hashed again. Uploads and
downloads share it (a downloaded, verified file enters it).

It lives in ``checksums.sqlite`` of the user's cache directory (see
:mod:`pydas.statedb`: a broken cache only costs the time of hashing, after one
warning). ``PYDAS_CHECKSUM_CACHE=off`` (or ``0``, ``false``, ``no``) turns it
off, as does ``enabled=False``.
"""

import itertools
import os
import re
import stat
import time

from pydas import statedb, userdirs
from pydas.checksums import md5_state

#: Entries kept at most; beyond, the least recently used tenth goes.
MAX_ENTRIES = 1000000

#: Nanoseconds: a file modified or changed less than this before it was hashed is not
#: cached. File systems keep coarse times (a kernel tick, 2 s on FAT), so a change
#: within the same tick as the one before would leave the file's stat as it was.
RACY_NS = 2 * 10 ** 9

# A lookup records the day of use only when the recorded one is older, so that a re-run
# over a known tree writes nothing.
_USE_RESOLUTION = 24 * 3600

_SCHEMA = (
    'CREATE TABLE IF NOT EXISTS checksums ('
    ' path BLOB PRIMARY KEY NOT NULL, size INTEGER NOT NULL,'
    ' mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,'
    ' inode INTEGER NOT NULL, device INTEGER NOT NULL,'
    ' md5 TEXT NOT NULL, used INTEGER NOT NULL)',
    'CREATE INDEX IF NOT EXISTS checksums_by_use ON checksums (used)',
)

_MD5_HEX = re.compile('[0-9a-f]{32}')


def _int64(value):
    # Inode and device numbers are unsigned 64-bit; SQLite integers are signed.
    return value - (1 << 64) if value >= (1 << 63) else value


def _stat_key(stat_result):
    return (stat_result.st_size, stat_result.st_mtime_ns, stat_result.st_ctime_ns,
            _int64(stat_result.st_ino), _int64(stat_result.st_dev))


class ChecksumCache(statedb.LocalDatabase):
    """MD5 checksums of local files, kept while the files stay as they were.

    Safe to use from several threads and processes at once.

    :param path: the database file; by default ``checksums.sqlite`` in
        :func:`pydas.userdirs.user_cache_dir`
    :type path: string or None
    :param enabled: False for a cache that finds and keeps nothing (and touches no
        file); None to follow ``PYDAS_CHECKSUM_CACHE``
    :type enabled: bool or None
    :param busy_timeout: seconds to wait for another process's lock before going on
        without the cache
    :type busy_timeout: float
    :param max_entries: entries kept at most
    :type max_entries: int
    """

    directory = staticmethod(userdirs.user_cache_dir)
    file_name = 'checksums.sqlite'
    environment_variable = 'PYDAS_CHECKSUM_CACHE'
    purpose = 'checksum cache'
    schema = _SCHEMA

    def __init__(self, path=None, enabled=None, busy_timeout=statedb.BUSY_TIMEOUT,
                 max_entries=MAX_ENTRIES):
        super(ChecksumCache, self).__init__(path, enabled, busy_timeout)
        self.max_entries = max_entries
        self._stores = itertools.count()
        self._prune_every = max(1, min(1000, max_entries // 10))

    def lookup(self, path, stat_result):
        """Return the MD5 stored for the file at ``path`` if its stat is still ``stat_result``.

        :param path: the file (made absolute, symbolic links not resolved)
        :type path: string, bytes or os.PathLike
        :param stat_result: the file's stat as of now (``os.stat(path)``)
        :type stat_result: os.stat_result
        :returns: the MD5 hex digest, or None if the cache does not know the file as it is
        :rtype: string or None
        """
        if not self.configured:
            return None
        key = statedb.path_key(path)
        rows = self.database.query(
            'SELECT md5, used FROM checksums WHERE path = ? AND size = ? AND mtime_ns = ?'
            ' AND ctime_ns = ? AND inode = ? AND device = ?', (key,) + _stat_key(stat_result))
        if not rows:
            return None
        md5, used = rows[0]
        if not isinstance(md5, str) or not _MD5_HEX.fullmatch(md5):
            return None
        now = int(time.time())
        if not isinstance(used, int) or used < now - _USE_RESOLUTION:
            self.database.execute('UPDATE checksums SET used = ? WHERE path = ?', (now, key))
        return md5

    def store(self, path, stat_result, md5):
        """Remember the MD5 of the file at ``path`` as long as its stat is ``stat_result``.

        The caller vouches that ``md5`` is the content the file had with that
        stat (taken before the content was read, and found the same after);
        :func:`file_md5_cached` does all that.

        :param path: the file (made absolute, symbolic links not resolved)
        :type path: string, bytes or os.PathLike
        :param stat_result: the file's stat when its content had that MD5
        :type stat_result: os.stat_result
        :param md5: MD5 hex digest (lower case) of the file's content
        :type md5: string
        :raises ValueError: if ``md5`` is not 32 lower-case hex digits
        """
        if not isinstance(md5, str) or not _MD5_HEX.fullmatch(md5):
            raise ValueError('not an MD5 hex digest: {0!r}'.format(md5))
        if not self.configured:
            return
        self.database.execute(
            'INSERT OR REPLACE INTO checksums VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            (statedb.path_key(path),) + _stat_key(stat_result) + (md5, int(time.time())))
        if next(self._stores) % self._prune_every == 0:
            self._prune()

    def store_read(self, path, before, md5, read_started_ns):
        """Store the MD5 of a file read from ``read_started_ns`` on, if it can be trusted:
        the file's stat now is ``before``, the one taken before reading, and its times are
        more than :data:`RACY_NS` older than the reading (a change within the same clock
        tick would not show in the stat).

        :param before: ``os.stat(path)`` from before the reading
        :type before: os.stat_result
        :param read_started_ns: when the reading started, as :func:`time.time_ns`
        :type read_started_ns: int
        """
        try:
            unchanged = _stat_key(os.stat(path)) == _stat_key(before)
        except OSError:
            return
        if unchanged and max(before.st_mtime_ns, before.st_ctime_ns) <= (
                read_started_ns - RACY_NS):
            self.store(path, before, md5)

    def _prune(self):
        rows = self.database.query('SELECT count(*) FROM checksums')
        if rows and rows[0][0] > self.max_entries:
            self.database.execute(
                'DELETE FROM checksums WHERE path IN'
                ' (SELECT path FROM checksums ORDER BY used LIMIT ?)',
                (rows[0][0] - self.max_entries * 9 // 10,))


def default_cache():
    """Return the cache of the user's cache directory, as the environment says now.

    The same object while ``XDG_CACHE_HOME`` and ``PYDAS_CHECKSUM_CACHE`` stay the same.

    :rtype: ChecksumCache
    """
    return ChecksumCache.default()


def file_md5_cached(path, cache=None):
    """Return the MD5 hex digest and the size of a file, from the cache when it knows it.

    Otherwise the file is read once (:func:`pydas.checksums.md5_state`), and
    its MD5 stored if its stat after reading is the one before, and its
    modification and change times are more than :data:`RACY_NS` older than
    the reading. Only regular files are cached.

    :param path: path of the file
    :type path: string, bytes or os.PathLike
    :param cache: the cache; None for :func:`default_cache`
    :type cache: ChecksumCache or None
    :rtype: (string, int)
    :raises OSError: if the file cannot be read
    """
    if cache is None:
        cache = default_cache()
    before = os.stat(path)
    cacheable = stat.S_ISREG(before.st_mode)
    if cacheable:
        md5 = cache.lookup(path, before)
        if md5 is not None:
            return md5, before.st_size
    read_started_ns = time.time_ns()
    digest, size = md5_state(path)
    md5 = digest.hexdigest()
    if cacheable and size == before.st_size:
        cache.store_read(path, before, md5, read_started_ns)
    return md5, size
