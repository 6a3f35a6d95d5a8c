"""The parts shared by uploads and downloads: progress and results.

Uploads live in :mod:`pydas.uploader`, downloads in :mod:`pydas.downloader`. Both
move files on the worker threads of :mod:`pydas.workers`, retry a broken transfer
from where it stopped by the one policy of :mod:`pydas.retries`, go on with the
other files when one fails for good, and finally raise a single
:class:`pydas.exceptions.TransferError` naming every failed path.
"""

import collections
import contextlib
import threading

from pydas.exceptions import TransferError, TransferInterrupted


class Progress(collections.namedtuple(
        'Progress', 'bytes_done bytes_total files_done files_total path')):
    """Where a transfer stands; passed to the ``progress`` callback of a transfer.

    The callback is called from the transfer's threads, one call at a time,
    each time data moved or a file finished. ``bytes_done`` and ``files_done``
    never decrease (bytes sent again after a broken connection are not
    counted twice).

    :ivar bytes_done: bytes transferred or found already in place so far
    :vartype bytes_done: int
    :ivar bytes_total: bytes of every file of the transfer
    :vartype bytes_total: int
    :ivar files_done: files finished (transferred, skipped as identical, or failed)
    :vartype files_done: int
    :ivar files_total: files of the transfer
    :vartype files_total: int
    :ivar path: local path of the file the update is about (None when none)
    :vartype path: None | string
    """

    __slots__ = ()


class Failure(collections.namedtuple('Failure', 'path reason')):
    """A file or folder that could not be transferred.

    :ivar path: local path (or server path) of what failed
    :vartype path: string
    :ivar reason: the last error
    :vartype reason: Exception
    """

    __slots__ = ()

    def __str__(self):
        return '{0}: {1}'.format(self.path, self.reason)


class Skipped(collections.namedtuple('Skipped', 'path reason')):
    """Something left out on purpose (a symbolic link, a link bitstream).

    :ivar path: local path of what was left out
    :vartype path: string
    :ivar reason: why, for a person
    :vartype reason: string
    """

    __slots__ = ()

    def __str__(self):
        return '{0}: {1}'.format(self.path, self.reason)


class TransferResult(object):
    """What a transfer did.

    :ivar transferred: local paths of the files whose bytes crossed the network, in full
        or to complete what an earlier attempt or run left
    :ivar unchanged: local paths of the files that needed no transfer (the server
        already had this content, or the local file already matched)
    :ivar resumed: the paths of :attr:`transferred` that went on from a partial
        transfer instead of from their first byte
    :ivar skipped: :class:`Skipped` entries (symbolic links, link bitstreams, empty items)
    :ivar failed: :class:`Failure` entries, empty unless a
        :class:`pydas.exceptions.TransferError` was raised
    :ivar items: ``(local path, item id)`` of every item uploaded or downloaded
    :ivar bytes_transferred: bytes that crossed the network (resent bytes included)
    :ivar bytes_completed: bytes of the files in :attr:`transferred`
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.transferred = []
        self.unchanged = []
        self.resumed = []
        self.skipped = []
        self.failed = []
        self.items = []
        self.bytes_transferred = 0
        self.bytes_completed = 0

    def completed(self, path, size, resumed=False):
        """Record that the file ``path`` (``size`` bytes) is now in place on the other side.

        :param resumed: whether it went on from a partial transfer
        :type resumed: bool
        """
        with self._lock:
            self.transferred.append(path)
            self.bytes_completed += size
            if resumed:
                self.resumed.append(path)

    def include(self, other):
        """Add what the transfer ``other`` did to this result.

        :type other: TransferResult
        """
        with self._lock:
            for outcome in ('transferred', 'unchanged', 'resumed', 'skipped', 'failed',
                            'items'):
                getattr(self, outcome).extend(getattr(other, outcome))
            self.bytes_transferred += other.bytes_transferred
            self.bytes_completed += other.bytes_completed

    def __repr__(self):
        return ('<TransferResult transferred={0} unchanged={1} resumed={2} skipped={3} '
                'failed={4} bytes={5}>').format(
                    len(self.transferred), len(self.unchanged), len(self.resumed),
                    len(self.skipped), len(self.failed), self.bytes_transferred)


class ProgressMeter(object):
    """Counts bytes and files of a transfer and reports them, one report at a time.

    Reports (the ``progress`` callback) and the user's transfer callbacks share
    :attr:`lock`, so none of them ever runs concurrently with another.

    :param callback: (optional) called with a :class:`Progress`
    :type callback: None | callable
    """

    def __init__(self, callback=None):
        self.lock = threading.RLock()
        self._callback = callback
        self.bytes_done = 0
        self.bytes_total = 0
        self.files_done = 0
        self.files_total = 0
        self.bytes_moved = 0

    def add_files(self, count, size):
        """Add files to the totals (before or while they are transferred)."""
        with self.lock:
            self.files_total += count
            self.bytes_total += size

    def add_bytes(self, count, path):
        """Count ``count`` more bytes of ``path`` as done."""
        with self.lock:
            self.bytes_done += count
            self._report(path)

    def add_moved(self, count):
        """Count ``count`` bytes that crossed the network (resent ones included)."""
        with self.lock:
            self.bytes_moved += count

    def file_done(self, path):
        """Count the file ``path`` as finished."""
        with self.lock:
            self.files_done += 1
            self._report(path)

    def _report(self, path):
        if self._callback is not None:
            self._callback(Progress(self.bytes_done, self.bytes_total, self.files_done,
                                    self.files_total, path))


class FileMeter(object):
    """Progress of one file, which a resumed transfer may go through twice.

    Only bytes beyond the furthest position reached so far are counted, so a
    resend after a broken connection neither counts twice nor goes backwards.

    :param meter: the transfer's meter
    :type meter: ProgressMeter
    :param path: local path of the file
    :type path: string
    """

    def __init__(self, meter, path):
        self._meter = meter
        self._path = path
        self._counted = 0
        self.position = 0

    def seek(self, position):
        """Restart counting from ``position`` (where the transfer resumes)."""
        self.position = position
        self._advance()

    def add(self, count):
        """Move ``count`` bytes forward (bytes that crossed the network)."""
        self._meter.add_moved(count)
        self.position += count
        self._advance()

    def _advance(self):
        if self.position > self._counted:
            self._meter.add_bytes(self.position - self._counted, self._path)
            self._counted = self.position


@contextlib.contextmanager
def interruptible(result):
    """Turn Ctrl-C during the ``with`` block into :class:`pydas.exceptions.TransferInterrupted`
    carrying ``result``, what was done until then."""
    try:
        yield
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, TransferInterrupted):
            raise
        raise TransferInterrupted(result) from None


def finish(result):
    """Return ``result``, or raise :class:`pydas.exceptions.TransferError` if anything failed.

    :param result: the transfer's result
    :type result: TransferResult
    :rtype: TransferResult
    :raises pydas.exceptions.TransferError: if ``result.failed`` is not empty
    """
    if result.failed:
        raise TransferError(result)
    return result
