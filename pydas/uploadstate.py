"""Unfinished uploads, remembered so that a re-run resumes them instead of starting over.

When pydas starts sending a file it records the item and the upload token
under the server, the local file (absolute path, size, modification time,
MD5) and what the upload is for; when the file is sent it forgets them. A
re-run that finds an entry for the same file, unchanged, asks the server for
the offset of that token and sends only the rest. Entries older than
:data:`MAX_AGE` seconds are stale (the server has likely dropped the partial
upload): they are ignored and removed.

The entries live in ``uploads.sqlite`` of the user's state directory (see
:mod:`pydas.statedb`), readable by the user only, because an upload token lets
whoever holds it write into the item; no token is ever logged.
``PYDAS_UPLOAD_STATE=off`` (or ``0``, ``false``, ``no``) turns it off.

A run that remembers or recalls a file's entry claims it (a lock in
``uploads.lock`` beside the database) until it forgets the entry or ends, so
that a second run while the first still sends the file never resumes the same
upload token: two requests would then append to one partial.
"""

import fcntl
import hashlib
import os
import threading
import time

from pydas import statedb, userdirs

#: Seconds after which an unfinished upload is no longer resumed (7 days).
MAX_AGE = 7 * 24 * 3600

# item_id has no declared type, so that it comes back as it was given (int or string).
_SCHEMA = (
    'CREATE TABLE IF NOT EXISTS uploads ('
    ' server_url TEXT NOT NULL, path BLOB NOT NULL, destination TEXT NOT NULL,'
    ' size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, md5 TEXT NOT NULL,'
    ' item_id NOT NULL, upload_token TEXT NOT NULL, created INTEGER NOT NULL,'
    ' PRIMARY KEY (server_url, path, destination))',
)


def _key(server_url, path, destination):
    return (server_url.rstrip('/'), statedb.path_key(path), destination)


class UploadState(statedb.LocalDatabase):
    """The unfinished uploads of this user, safe to use from several threads and processes.

    :param path: the database file; by default ``uploads.sqlite`` in
        :func:`pydas.userdirs.user_state_dir`
    :type path: string or None
    :param enabled: False to remember nothing (and touch no file); None to follow
        ``PYDAS_UPLOAD_STATE``
    :type enabled: bool or None
    :param busy_timeout: seconds to wait for another process's lock before going on
        without the state
    :type busy_timeout: float
    """

    directory = staticmethod(userdirs.user_state_dir)
    file_name = 'uploads.sqlite'
    environment_variable = 'PYDAS_UPLOAD_STATE'
    purpose = 'upload state'
    schema = _SCHEMA

    def __init__(self, path=None, enabled=None, busy_timeout=statedb.BUSY_TIMEOUT):
        super(UploadState, self).__init__(path, enabled, busy_timeout)
        self._pruned = False
        self._claims = None
        if self.configured:
            self._claims = _Claims(os.path.join(os.path.dirname(self.path), 'uploads.lock'))

    def remember(self, server_url, path, size, mtime_ns, md5, item_id, upload_token,
                 destination=''):
        """Record that the upload of a file has started, replacing an earlier record.

        :param server_url: URL of the Midas server
        :type server_url: string
        :param path: the local file (made absolute)
        :type path: string, bytes or os.PathLike
        :param size: the file's size in bytes
        :type size: int
        :param mtime_ns: the file's modification time (``st_mtime_ns``)
        :type mtime_ns: int
        :param md5: MD5 hex digest of the file's content
        :type md5: string
        :param item_id: id of the item the file goes into
        :type item_id: int or string
        :param upload_token: the token of ``midas.upload.generatetoken``
        :type upload_token: string
        :param destination: what else the upload is resumed only for (e.g. the parent
            folder id and the item name)
        :type destination: string
        """
        if not self.configured or not self._claims.take(server_url, path):
            return  # another live run sends this file: its record stays as it is
        self.database.execute(
            'INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            _key(server_url, path, destination)
            + (size, mtime_ns, md5, item_id, upload_token, int(time.time())))

    def recall(self, server_url, path, size, mtime_ns, md5, destination=''):
        """Return the unfinished upload of a file, if it has not changed since and is not stale.

        :param server_url: URL of the Midas server
        :type server_url: string
        :param path: the local file (made absolute)
        :type path: string, bytes or os.PathLike
        :param size: the file's size in bytes now
        :type size: int
        :param mtime_ns: the file's modification time now (``st_mtime_ns``)
        :type mtime_ns: int
        :param md5: MD5 hex digest of the file's content now
        :type md5: string
        :param destination: as given to :meth:`remember`
        :type destination: string
        :returns: the item id and the upload token, or None (also while another live
            run has claimed the file's record)
        :rtype: (int or string, string) or None
        """
        if not self.configured:
            return None
        oldest = int(time.time()) - MAX_AGE
        if not self._pruned:
            self._pruned = True
            self.database.execute('DELETE FROM uploads WHERE created < ?', (oldest,))
        rows = self.database.query(
            'SELECT item_id, upload_token FROM uploads WHERE server_url = ? AND path = ?'
            ' AND destination = ? AND size = ? AND mtime_ns = ? AND md5 = ? AND created >= ?',
            _key(server_url, path, destination) + (size, mtime_ns, md5, oldest))
        if not rows or not self._claims.take(server_url, path):
            return None
        return tuple(rows[0])

    def forget(self, server_url, path, destination=None):
        """Remove the record of a file's upload (finished, or abandoned).

        :param server_url: URL of the Midas server
        :type server_url: string
        :param path: the local file (made absolute)
        :type path: string, bytes or os.PathLike
        :param destination: as given to :meth:`remember`; None for every destination
        :type destination: string or None
        """
        if not self.configured:
            return
        key = _key(server_url, path, destination)
        if destination is None:
            self.database.execute(
                'DELETE FROM uploads WHERE server_url = ? AND path = ?', key[:2])
        else:
            self.database.execute(
                'DELETE FROM uploads WHERE server_url = ? AND path = ? AND destination = ?', key)
        self._claims.release(server_url, path)


class _Claims(object):
    """The files whose records this process uses: a one-byte lock each in one lock file.

    POSIX record locks (``lockf``) belong to the process and go with it, whatever
    way it ends: a killed run's claims are free again. Two files whose keys hash
    to the same byte only lose a resume, never corrupt one.

    :param path: the lock file (created if missing, mode 0600)
    :type path: string
    """

    def __init__(self, path):
        self._path = path
        self._fd = None
        self._held = set()
        self._lock = threading.Lock()

    def take(self, server_url, path):
        """Claim a file's record; False if another live process holds it (or no lock
        file can be had)."""
        byte = self._byte(server_url, path)
        with self._lock:
            if byte in self._held:
                return True
            try:
                if self._fd is None:
                    userdirs.make_private_dirs(os.path.dirname(self._path))
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
                                       | os.O_NOFOLLOW, 0o600)
                    os.fchmod(self._fd, 0o600)  # whatever the umask made of it
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
            except OSError:
                return False
            self._held.add(byte)
            return True

    def release(self, server_url, path):
        """Give up the claim on a file's record, if this process holds it."""
        byte = self._byte(server_url, path)
        with self._lock:
            if byte in self._held:
                self._held.discard(byte)
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, byte)

    @staticmethod
    def _byte(server_url, path):
        key = _key(server_url, path, '')[:2]
        digest = hashlib.sha256(repr(key).encode('utf-8')).digest()
        return int.from_bytes(digest[:4], 'big') & 0x7fffffff


def default_state():
    """Return the upload state of the user's state directory, as the environment says now.

    The same object while ``XDG_STATE_HOME`` and ``PYDAS_UPLOAD_STATE`` stay the same.

    :rtype: UploadState
    """
    return UploadState.default()
