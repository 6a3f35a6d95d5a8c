"""The parts shared by uploads and downloads: progress, results, errors, workers.

Uploads live in :mod:`pydas.uploader`, downloads in :mod:`pydas.downloader`. Both
move files on a bounded pool of worker threads (``jobs`` of them) sharing the
Communicator's keep-alive connections, retry a broken transfer from where it
stopped, go on with the other files when one fails for good, and finally
raise a single :class:`pydas.exceptions.TransferError` naming every failed path.
"""

import collections
import concurrent.futures
import logging
import threading

import requests

from pydas.exceptions import (HTTPError, IncompleteTransfer, InternalError, RequestError,
                              TransferError, UploadFailed)

logger = logging.getLogger('pydas')

#: Files moved at once unless a ``jobs`` option says otherwise.
DEFAULT_JOBS = 4

#: Attempts per file before it is reported as failed (the first one included).
DEFAULT_ATTEMPTS = 3


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

    :ivar transferred: local paths of the files whose bytes crossed the network
    :ivar unchanged: local paths of the files that needed no transfer (the server
        already had the content, or the local file already matched)
    :ivar skipped: :class:`Skipped` entries (symbolic links, link bitstreams)
    :ivar failed: :class:`Failure` entries, empty unless a
        :class:`pydas.exceptions.TransferError`
        was raised
    :ivar items: ``(local path, item id)`` of every item uploaded or downloaded
    :ivar bytes_transferred: bytes that crossed the network (resent bytes included)
    """

    def __init__(self):
        self.transferred = []
        self.unchanged = []
        self.skipped = []
        self.failed = []
        self.items = []
        self.bytes_transferred = 0

    def __repr__(self):
        return ('<TransferResult transferred={0} unchanged={1} skipped={2} failed={3} '
                'bytes={4}>').format(len(self.transferred), len(self.unchanged),
                                     len(self.skipped), len(self.failed),
                                     self.bytes_transferred)


def is_retryable(error):
    """Tell whether trying a transfer again could succeed.

    :param error: what a transfer raised
    :type error: Exception
    :rtype: bool
    """
    if isinstance(error, (UploadFailed, InternalError)):  # Midas codes, under HTTPError
        return True
    if isinstance(error, HTTPError):
        return error.code is not None and error.code >= 500
    return isinstance(error, (RequestError, IncompleteTransfer,
                              requests.exceptions.RequestException))


def retrying(operation, attempts, path, before_retry=None):
    """Call ``operation()`` up to ``attempts`` times while it fails with a retryable error.

    :param operation: the work to do
    :type operation: callable
    :param attempts: the most calls to make
    :type attempts: int
    :param path: what the work is about, for the log
    :type path: string
    :param before_retry: (optional) called before each new attempt (e.g. to find
        out where to resume)
    :type before_retry: None | callable
    :returns: what ``operation`` returns
    """
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except Exception as error:
            if attempt == attempts or not is_retryable(error):
                raise
            logger.warning('%s: %s (attempt %d of %d); trying again', path, error, attempt,
                           attempts)
        if before_retry is not None:
            before_retry()


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


class Countdown(object):
    """Calls ``on_success`` once ``count`` parts have finished, unless one of them failed.

    :param count: number of parts
    :type count: int
    :param on_success: called, on the thread of the last part, when all succeeded
    :type on_success: callable
    """

    def __init__(self, count, on_success):
        self._lock = threading.Lock()
        self._left = count
        self._failed = False
        self._on_success = on_success

    def part_done(self, succeeded):
        """Count one part as finished."""
        with self._lock:
            self._left -= 1
            self._failed = self._failed or not succeeded
            finished = self._left == 0 and not self._failed
        if finished:
            self._on_success()


class TaskRunner(object):
    """Runs transfer tasks on a bounded pool and collects their failures.

    A task is a callable; when it raises, the failure is recorded against its
    path and the other tasks go on, except for a ``fatal`` exception (e.g.
    refused credentials), which drops the tasks not started yet and is raised
    by :meth:`wait`.

    :param jobs: number of worker threads
    :type jobs: int
    :param result: where failures are recorded
    :type result: TransferResult
    :param fatal: (optional) exception classes that stop the whole transfer
    :type fatal: tuple[type]
    """

    def __init__(self, jobs, result, fatal=()):
        if jobs < 1:
            raise ValueError('jobs must be at least 1, not {0!r}'.format(jobs))
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=jobs, thread_name_prefix='pydas-transfer')
        self._result = result
        self._fatal = tuple(fatal)
        self._lock = threading.Lock()
        self._futures = []
        self._fatal_error = None

    def submit(self, path, task, *args):
        """Run ``task(*args)`` on a worker; a failure is reported against ``path``."""
        with self._lock:
            if self._fatal_error is None:
                self._futures.append(self._pool.submit(self._run, path, task, args))

    def fail(self, path, error):
        """Record a failure that happened outside a task."""
        logger.error('%s failed: %s', path, error)
        with self._lock:
            self._result.failed.append(Failure(path, error))

    def wait(self):
        """Wait for every task, including tasks submitted by tasks.

        :raises Exception: the fatal error that stopped the transfer, if any
        """
        try:
            while True:
                with self._lock:
                    pending = [future for future in self._futures if not future.done()]
                if not pending:
                    break
                concurrent.futures.wait(pending)
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._fatal_error is not None:
            raise self._fatal_error

    def _run(self, path, task, args):
        if self._fatal_error is not None:
            return
        try:
            task(*args)
        except self._fatal as error:
            with self._lock:
                self._fatal_error = self._fatal_error or error
        except Exception as error:  # a failed file must not stop the others
            self.fail(path, error)


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
