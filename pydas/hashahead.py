"""Hashing the files of an upload ahead of sending them, on a thread of its own.

A file's MD5 must be known before its upload token is asked for (so that
content the server holds is never sent): hashing the next files while the
current ones are sent keeps both the disk and the network busy.
"""

import collections
import threading

from pydas.fileupload import hash_file
from pydas.workers import Stopped

#: Bytes of files hashed ahead and not yet being sent, at most (beyond one file): enough to
#: keep the sending busy, little enough for the page cache to still hold them when sent.
HASH_AHEAD_BYTES = 512 * 1024 * 1024


class HashAhead(object):
    """Hashes the files of an upload on a thread of its own, in the order they are queued
    for sending, ahead of the workers: a file is hashed while the ones before it are sent.

    :param attempts: times to hash a file that keeps changing
    :type attempts: int
    :param stop: the upload's :class:`pydas.workers.Stop`
    :type stop: pydas.workers.Stop
    :param ahead: files hashed and not taken yet, at most
    :type ahead: int
    """

    def __init__(self, attempts, stop, ahead):
        self._attempts = attempts
        self._stop = stop
        self._ahead = ahead
        self._queue = collections.deque()
        self._hashed = {}
        self._hashed_bytes = 0
        self._changed = threading.Condition()
        self._thread = None

    def add(self, files):
        """Queue :class:`LocalFile` objects, in the order their uploads start."""
        with self._changed:
            self._queue.extend(files)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name='pydas-hash-ahead')
                self._thread.start()
            self._changed.notify_all()

    def take(self, local_file):
        """Return ``(FileState, md5)`` of a queued file once hashed (see
        :func:`pydas.fileupload.hash_file`), or raise what hashing it raised.

        :raises pydas.workers.Stopped: if the upload stops meanwhile
        """
        with self._stop.abortable(self._wake):
            with self._changed:
                while local_file not in self._hashed and not self._stop.is_set:
                    self._changed.wait()
                outcome = self._hashed.pop(local_file, None)
                self._hashed_bytes -= local_file.size
                self._changed.notify_all()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _wake(self):
        with self._changed:
            self._changed.notify_all()

    def _full(self):
        return self._hashed and (len(self._hashed) >= self._ahead
                                 or self._hashed_bytes >= HASH_AHEAD_BYTES)

    def _run(self):
        try:
            with self._stop.abortable(self._wake):
                while True:
                    with self._changed:
                        while (not self._queue or self._full()) and not self._stop.is_set:
                            self._changed.wait()
                        if self._stop.is_set:
                            return
                        local_file = self._queue.popleft()
                    try:
                        outcome = hash_file(local_file.path, self._attempts)
                    except Exception as error:  # the file's own upload reports it
                        outcome = error
                    with self._changed:
                        self._hashed[local_file] = outcome
                        self._hashed_bytes += local_file.size
                        self._changed.notify_all()
        except Stopped:
            return
