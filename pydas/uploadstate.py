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
"""

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
        if not self.configured:
            return
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
        :returns: the item id and the upload token, or None
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
        return tuple(rows[0]) if rows else None

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


def default_state():
    """Return the upload state of the user's state directory, as the environment says now.

    The same object while ``XDG_STATE_HOME`` and ``PYDAS_UPLOAD_STATE`` stay the same.

    :rtype: UploadState
    """
    return UploadState.default()
