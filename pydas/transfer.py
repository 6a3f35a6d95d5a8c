"""The parts shared by uploads and downloads: progress, results, errors, workers.

Uploads live in :mod:`pydas.uploader`, downloads in :mod:`pydas.downloader`. Both
move files on a bounded pool of worker threads (``jobs`` of them) sharing the
Communicator's keep-alive connections, retry a broken transfer from where it
stopped, go on with the other files when one fails for good, and finally
raise a single :class:`pydas.exceptions.TransferError` naming every failed path.
"""

import collections
import contextlib
import logging
import threading
import time

import requests

from pydas.exceptions import (HTTPError, IncompleteTransfer, InternalError, ParseError,
                              RequestError, TransferError, TransferInterrupted, UploadFailed)

logger = logging.getLogger('pydas')

#: Files moved at once at most, unless a ``jobs`` option says otherwise.
DEFAULT_JOBS = 32

#: Files moved at once at first; more while the server keeps up (see :class:`Pace`).
STARTING_JOBS = 4

#: Tasks taking longer than this (seconds) move a lot of bytes: running more at once
#: would not make them faster, so they leave the concurrency as it is.
SHORT_TASK = 1.0

#: A short task taking at most this times the fastest so far counts as the server keeping up.
FLAT_FACTOR = 3.0

#: A short task taking more than this times the fastest so far counts as a server falling
#: behind.
SLOW_FACTOR = 6.0

#: Tasks at once added per short task that came back in time: the concurrency triples
#: from one round of tasks to the next, as long as the server keeps up.
PACE_STEP = 2

#: Seconds of jitter (scheduling on a busy host) either comparison tolerates.
PACE_JITTER = 0.01

#: Attempts in a row without progress before a file is reported as failed.
DEFAULT_ATTEMPTS = 3

#: Seconds after which a file's transfer is no longer retried, progress or not.
RETRY_TIME_LIMIT = 4 * 3600

#: Pause before the second attempt without progress; it doubles for each further one.
RETRY_PAUSE_FIRST = 0.5

#: The longest pause between two attempts.
RETRY_PAUSE_MAX = 30.0

#: Seconds a stopped transfer waits for its running tasks to end.
STOP_GRACE = 1.5


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
    # A ParseError: an answer cut short, or a proxy's error page instead of the server's.
    return isinstance(error, (RequestError, IncompleteTransfer, ParseError,
                              requests.exceptions.RequestException))


def retry_pause(failures):
    """Seconds to wait before the next attempt after ``failures`` attempts in a row
    that made no progress (none after an attempt that got further).

    :type failures: int
    :rtype: float
    """
    if failures < 1:
        return 0.0
    return min(RETRY_PAUSE_MAX, RETRY_PAUSE_FIRST * 2 ** (failures - 1))


def check_attempts(attempts):
    """Refuse an ``attempts`` option below 1.

    :raises TypeError: if it is not an int
    :raises ValueError: if it is below 1
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise TypeError('attempts must be an int, not {0!r}'.format(attempts))
    if attempts < 1:
        raise ValueError('attempts must be at least 1, not {0!r}'.format(attempts))


def retrying(operation, attempts, path, resume=None, position=None, stop=None):
    """Call ``operation()`` until it succeeds, while it fails with retryable errors
    and keeps making progress.

    The one retry policy of transfers. An attempt that got further than the
    attempt before it (``position()``, read after ``resume()``, grew: the bytes
    the server holds, or the bytes received) does not count: the work gives up
    after ``attempts`` attempts in a row without progress, or once
    :data:`RETRY_TIME_LIMIT` seconds have passed since it started. Attempts
    without progress are spaced by :func:`retry_pause`.

    :param operation: the work to do
    :type operation: callable
    :param attempts: attempts in a row without progress before giving up (at least 1)
    :type attempts: int
    :param path: what the work is about, for the log
    :type path: string
    :param resume: (optional) called before each new attempt (e.g. to find out where to
        resume); its own retryable failure counts as an attempt without progress
    :type resume: None | callable
    :param position: (optional) how far the work has got, read before each attempt
    :type position: None | callable
    :param stop: (optional) the transfer's :class:`Stop`, checked between attempts
    :type stop: None | Stop
    :returns: what ``operation`` returns
    :raises Stopped: if the transfer was stopped meanwhile
    """
    deadline = time.monotonic() + RETRY_TIME_LIMIT
    failures = 0
    error = None
    reached = None
    while True:
        try:
            if error is not None and resume is not None:
                resume()
            if position is not None:
                here = position()
                if reached is not None and here > reached:
                    failures = 0
                reached = here if reached is None else max(here, reached)
            if error is not None:
                if failures >= attempts or time.monotonic() > deadline:
                    raise error
                logger.warning('%s: %s; trying again (%d of %d attempts in a row without '
                               'progress)', path, error, failures, attempts)
                if stop is not None:
                    stop.sleep(retry_pause(failures))
            return operation()
        except Exception as exc:
            if exc is error or not is_retryable(exc):
                raise
            server_pushed_back()
            error = exc
            failures += 1


def retried_call(client, operation, attempts, path, stop=None):
    """Call ``operation(token)`` with the client's token, retried by :func:`retrying`:
    for calls that are safe to repeat.

    :param client: the client whose token (renewed once if expired) is passed
    :type client: pydas.session.Client
    :returns: what ``operation`` returns
    """
    return retrying(lambda: client.with_token(operation), attempts, path, stop=stop)


class Pace(object):
    """How many tasks a :class:`TaskRunner` runs at once.

    It starts at :data:`STARTING_JOBS` and takes :data:`PACE_STEP` more for every
    short task that came back about as fast as the fastest so far (while the server's
    answer times stay flat, as over a link where round trips, not the server,
    bound the time), one fewer for a short task much slower than that (a
    server falling behind), and halves when the server pushes back (an HTTP
    5xx, a timeout, a broken connection: any retryable error of a task). It
    never goes beyond ``cap``, nor below 1.

    :param cap: tasks at once at most (the user's ``jobs``)
    :type cap: int
    """

    def __init__(self, cap):
        self.cap = cap
        self.limit = min(cap, STARTING_JOBS)
        self._fastest = None
        self._lock = threading.Lock()

    def finished(self, seconds):
        """Count a task that succeeded after ``seconds``."""
        if seconds > SHORT_TASK:
            return
        with self._lock:
            if self._fastest is None or seconds < self._fastest:
                self._fastest = seconds
            if seconds <= self._fastest * FLAT_FACTOR + PACE_JITTER:
                self.limit = min(self.cap, self.limit + PACE_STEP)
            elif seconds > self._fastest * SLOW_FACTOR + PACE_JITTER:
                self.limit = max(1, self.limit - 1)

    def pushed_back(self):
        """Count a retryable error: the server (or the way to it) is overloaded."""
        with self._lock:
            self.limit = max(1, self.limit // 2)


# The Pace of the runner whose worker is the current thread.
_running = threading.local()


def server_pushed_back():
    """Tell the :class:`Pace` of the task running on this thread (if any) that a call
    failed with a retryable error; every retry loop of transfers calls it."""
    pace = getattr(_running, 'pace', None)
    if pace is not None:
        pace.pushed_back()


class Stopped(BaseException):
    """Raised in a transfer's threads once it is stopped (Ctrl-C); not a failure.

    A BaseException, as KeyboardInterrupt is, so that no handler of errors
    records it as the failure of a file.
    """


class Stop(object):
    """Tells a transfer's threads to stop, and breaks off what they are waiting for.

    Work in progress registers a way to abort itself (:meth:`abortable`, e.g.
    shutting a connection's socket down), so that a thread blocked on the
    network returns at once when the transfer stops.
    """

    def __init__(self):
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._aborts = {}

    @property
    def is_set(self):
        """Whether the transfer was stopped."""
        return self._event.is_set()

    def check(self):
        """Raise :class:`Stopped` if the transfer was stopped."""
        if self._event.is_set():
            raise Stopped()

    def sleep(self, seconds):
        """Wait ``seconds``, or raise :class:`Stopped` as soon as the transfer stops."""
        if self._event.wait(seconds):
            raise Stopped()

    @contextlib.contextmanager
    def abortable(self, abort):
        """Run the ``with`` block with ``abort()`` called should the transfer stop meanwhile.

        The error an abort causes in the block (a broken connection) is no failure:
        once the transfer is stopped, any error of the block becomes :class:`Stopped`.

        :param abort: breaks off the block's blocking work (called from another thread)
        :type abort: callable
        """
        key = object()
        with self._lock:
            self._aborts[key] = abort
        try:
            if self._event.is_set():
                abort()
            yield
        except Exception:
            self.check()
            raise
        finally:
            with self._lock:
                del self._aborts[key]
        self.check()

    def set(self):
        """Stop the transfer: no new work starts, and work in progress is aborted."""
        self._event.set()
        with self._lock:
            aborts = list(self._aborts.values())
        for abort in aborts:
            try:
                abort()
            except Exception:  # aborting is best effort: the socket may be gone already
                logger.debug('aborting a transfer failed', exc_info=True)


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
    """Runs transfer tasks on up to ``jobs`` worker threads and records their failures.

    How many tasks run at once follows a :class:`Pace`, within ``jobs``.

    A task is a callable. Tasks may submit more tasks. A task's exception is
    recorded as the failure of its path and the other tasks go on, except a
    ``fatal`` one (e.g. refused credentials), which drops the tasks not
    started yet and is raised by :meth:`wait`.

    Used as a context manager, it waits for its tasks on a normal exit; on any
    other (Ctrl-C in the calling thread included) it stops them instead, see
    :meth:`interrupt`. The workers are daemon threads: a worker stuck on a dead
    network can never keep the interpreter from exiting.

    :param jobs: tasks at once at most
    :type jobs: int
    :param result: where failures are recorded
    :type result: TransferResult
    :param fatal: (optional) exception classes that stop the whole transfer
    :type fatal: tuple[type]
    :param stop: (optional) the transfer's :class:`Stop`, shared by its runners
    :type stop: None | Stop
    :param pace: (optional) the transfer's :class:`Pace`, shared by its runners (so that a
        later phase starts at the pace an earlier one reached)
    :type pace: None | Pace
    """

    def __init__(self, jobs, result, fatal=(), stop=None, pace=None):
        if isinstance(jobs, bool) or not isinstance(jobs, int):
            raise TypeError('jobs must be an int, not {0!r}'.format(jobs))
        if jobs < 1:
            raise ValueError('jobs must be at least 1, not {0!r}'.format(jobs))
        self.stop = stop if stop is not None else Stop()
        self._jobs = jobs
        self._result = result
        self._fatal = tuple(fatal)
        self._queue = collections.deque()
        self._changed = threading.Condition()
        self._threads = []
        self._idle = 0
        self._running = 0
        self._unfinished = 0
        self._fatal_error = None
        self.pace = pace if pace is not None else Pace(jobs)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            self.wait()
        else:
            self.interrupt()

    def submit(self, path, task, *args):
        """Run ``task(*args)`` on a worker; a failure is recorded against ``path``."""
        with self._changed:
            if self._fatal_error is not None or self.stop.is_set:
                return
            self._queue.append((path, task, args))
            self._unfinished += 1
            self._start_workers()

    def _start_workers(self):
        """Wake or start workers for the queued tasks the pace allows (lock held)."""
        wanted = min(len(self._queue), self.pace.limit - self._running)
        if wanted <= 0:
            return
        self._changed.notify(min(wanted, self._idle))
        while len(self._threads) < min(self._jobs, self.pace.limit) and wanted > self._idle:
            thread = threading.Thread(target=self._work, daemon=True,
                                      name='pydas-transfer-{0}'.format(len(self._threads)))
            self._threads.append(thread)
            thread.start()
            wanted -= 1

    def fail(self, path, error):
        """Record the failure of ``path`` (the one place that does) and go on."""
        logger.error('%s failed: %s', path, error)
        with self._changed:
            self._result.failed.append(Failure(path, error))

    @contextlib.contextmanager
    def reporting(self, path):
        """Run the ``with`` block, recording its exception as the failure of ``path``.

        The fatal exceptions and :class:`Stopped` go through; any other is
        recorded and swallowed: the code after the block runs, and the yielded
        :class:`Outcome` says whether the block succeeded.
        """
        outcome = Outcome()
        try:
            yield outcome
        except self._fatal:
            raise
        except Exception as error:  # a failed file must not stop the others
            outcome.succeeded = False
            outcome.error = error
            self.fail(path, error)

    def wait(self):
        """Wait for every task, including tasks submitted by tasks.

        Ctrl-C while waiting stops the tasks (see :meth:`interrupt`).

        :raises Exception: the fatal error that stopped the transfer, if any
        """
        try:
            with self._changed:
                while self._unfinished and self._fatal_error is None:
                    self._changed.wait()
        except BaseException:
            self.interrupt()
            raise
        if self._fatal_error is not None:
            self.interrupt()
            raise self._fatal_error
        self._close()

    def interrupt(self):
        """Stop the transfer: drop the tasks not started, abort the running ones and
        give them :data:`STOP_GRACE` seconds to end (a second Ctrl-C ends the wait)."""
        self.stop.set()
        deadline = time.monotonic() + STOP_GRACE
        try:
            with self._changed:
                self._unfinished -= len(self._queue)
                self._queue.clear()
                while self._unfinished and time.monotonic() < deadline:
                    self._changed.wait(max(0.0, deadline - time.monotonic()))
        finally:
            self._close()

    def _close(self):
        with self._changed:
            self._jobs = 0
            self._changed.notify_all()

    def _work(self):
        _running.pace = self.pace
        while True:
            with self._changed:
                self._idle += 1
                while self._jobs and not (self._queue and self._running < self.pace.limit):
                    self._changed.wait()
                self._idle -= 1
                if not self._queue:
                    return
                path, task, args = self._queue.popleft()
                self._running += 1
            started = time.monotonic()
            try:
                if self._fatal_error is None and not self.stop.is_set:
                    with self.reporting(path) as outcome:
                        task(*args)
                    if outcome.succeeded:
                        self.pace.finished(time.monotonic() - started)
                    elif is_retryable(outcome.error):
                        self.pace.pushed_back()
            except Stopped:
                pass
            except self._fatal as error:
                with self._changed:
                    self._fatal_error = self._fatal_error or error
                    self._unfinished -= len(self._queue)
                    self._queue.clear()
            finally:
                with self._changed:
                    self._running -= 1
                    self._unfinished -= 1
                    self._changed.notify_all()
                    self._start_workers()


class Outcome(object):
    """Whether the block of :meth:`TaskRunner.reporting` succeeded."""

    def __init__(self):
        self.succeeded = True
        self.error = None


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
