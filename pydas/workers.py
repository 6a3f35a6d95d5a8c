"""The worker threads of a transfer: how many run at once, and how they stop.

A :class:`TaskRunner` runs a transfer's tasks on daemon threads, as many at
once as its :class:`Pace` allows, and records the failure of each task against
its path; a :class:`Stop` tells them all to stop (Ctrl-C) and breaks off what
they are waiting for.
"""

import collections
import contextlib
import logging
import threading
import time

from pydas.transfer import Failure

logger = logging.getLogger('pydas')

#: Files moved at once at most, unless a ``jobs`` option says otherwise.
DEFAULT_JOBS = 32

#: Files moved at once at first; more while the server keeps up (see :class:`Pace`).
STARTING_JOBS = 4

#: Tasks moving more bytes than this leave the concurrency as it is: running more of
#: them at once would not make them faster (bytes, not round trips, take their time).
BULK_TASK_SIZE = 8 * 1024 * 1024

#: Answers taking longer than this (seconds) say nothing about round trips: not counted.
SHORT_ANSWER = 1.0

#: An answer taking at most this times the fastest so far counts as the server keeping up.
FLAT_FACTOR = 3.0

#: An answer taking more than this times the fastest so far counts as a server falling
#: behind.
SLOW_FACTOR = 6.0

#: Tasks at once added per answer that came back in time: the concurrency triples from
#: one round trip to the next, as long as the server keeps up.
PACE_STEP = 2

#: Seconds of jitter (scheduling on a busy host) either comparison tolerates.
PACE_JITTER = 0.01

#: Seconds a stopped transfer waits for its running tasks to end.
STOP_GRACE = 1.5

#: Seconds between two looks for a Ctrl-C while waiting for the end of a transfer: where a
#: Ctrl-C cannot break a wait on a lock (Windows before Python 3.14), it shows only when the
#: waiting thread runs again.
INTERRUPT_CHECK_INTERVAL = 0.1


class Pace(object):
    """How many tasks a :class:`TaskRunner` runs at once.

    It starts at :data:`STARTING_JOBS` and learns from the answer time of every API
    call of its tasks: :data:`PACE_STEP` more for an answer that came back about as
    fast as the fastest so far (the server's answer times staying flat, as over a
    link where round trips, not the server, bound the time), one fewer for an answer
    much slower than that (a server falling behind); it halves when the server
    pushes back (an HTTP 5xx, a timeout, a broken connection: any retryable error of
    a task). Learning from each answer rather than from each finished task lets a
    task of several calls (an upload: token, bytes, check) raise the pace after its
    first round trip. It never goes beyond ``cap``, nor below 1.

    :param cap: tasks at once at most (the user's ``jobs``)
    :type cap: int
    """

    def __init__(self, cap):
        self.cap = cap
        self.limit = min(cap, STARTING_JOBS)
        self._fastest = None
        self._lock = threading.Lock()
        self._on_growth = None

    def answered(self, seconds):
        """Count an API call answered after ``seconds``."""
        if seconds > SHORT_ANSWER:
            return
        with self._lock:
            before = self.limit
            if self._fastest is None or seconds < self._fastest:
                self._fastest = seconds
            if seconds <= self._fastest * FLAT_FACTOR + PACE_JITTER:
                self.limit = min(self.cap, self.limit + PACE_STEP)
            elif seconds > self._fastest * SLOW_FACTOR + PACE_JITTER:
                self.limit = max(1, self.limit - 1)
            on_growth = self._on_growth if self.limit > before else None
        if on_growth is not None:
            on_growth()

    def pushed_back(self):
        """Count a retryable error: the server (or the way to it) is overloaded."""
        with self._lock:
            self.limit = max(1, self.limit // 2)

    def notify_growth(self, callback):
        """Call ``callback()`` whenever the limit grows (the runner using this pace starts
        more tasks at once)."""
        self._on_growth = callback


# The Pace of the runner whose worker is the current thread, and whether its task
# counts for it (not a bulk one).
_running = threading.local()


def answered(seconds):
    """Tell the :class:`Pace` of the task running on this thread (if any, and unless it
    moves bulk data) that an API call answered after ``seconds``; the transport calls it
    for every answer."""
    pace = getattr(_running, 'pace', None)
    if pace is not None and getattr(_running, 'paced', True):
        pace.answered(seconds)


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
        self._lock = threading.RLock()
        # Two conditions on one lock, so that a finished task wakes the caller waiting for
        # the end, not every idle worker (32 of them waking per task cost a sixth of the
        # client's CPU).
        self._task_ready = threading.Condition(self._lock)
        self._settled = threading.Condition(self._lock)
        self._threads = []
        self._idle = 0
        self._running = 0
        self._unfinished = 0
        self._fatal_error = None
        self.pace = pace if pace is not None else Pace(jobs)
        self.pace.notify_growth(self._more_workers)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            self.wait()
        else:
            self.interrupt()

    def submit(self, path, task, *args, size=0):
        """Run ``task(*args)`` on a worker; a failure is recorded against ``path``.

        ``size`` is the bytes the task moves: over :data:`BULK_TASK_SIZE`, the answers of
        its calls do not feed the pace.
        """
        with self._lock:
            if self._fatal_error is not None or self.stop.is_set:
                return
            self._queue.append((path, task, args, size <= BULK_TASK_SIZE))
            self._unfinished += 1
            self._start_workers()

    def _more_workers(self):
        """The pace grew: start the queued tasks it allows now."""
        with self._lock:
            self._start_workers()

    def _start_workers(self):
        """Wake or start workers for the queued tasks the pace allows (lock held)."""
        wanted = min(len(self._queue), self.pace.limit - self._running)
        if wanted <= 0:
            return
        self._task_ready.notify(min(wanted, self._idle))
        while len(self._threads) < min(self._jobs, self.pace.limit) and wanted > self._idle:
            thread = threading.Thread(target=self._work, daemon=True,
                                      name='pydas-transfer-{0}'.format(len(self._threads)))
            self._threads.append(thread)
            thread.start()
            wanted -= 1

    def fail(self, path, error):
        """Record the failure of ``path`` (the one place that does) and go on."""
        logger.error('%s failed: %s', path, error)
        with self._lock:
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
            self.fail(path, error)

    def wait(self):
        """Wait for every task, including tasks submitted by tasks.

        Ctrl-C while waiting stops the tasks (see :meth:`interrupt`).

        :raises Exception: the fatal error that stopped the transfer, if any
        """
        try:
            with self._lock:
                while self._unfinished and self._fatal_error is None:
                    self._settled.wait(INTERRUPT_CHECK_INTERVAL)
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
            with self._lock:
                self._unfinished -= len(self._queue)
                self._queue.clear()
                while self._unfinished and time.monotonic() < deadline:
                    self._settled.wait(max(0.0, deadline - time.monotonic()))
        finally:
            self._close()

    def _close(self):
        with self._lock:
            self._jobs = 0
            self._task_ready.notify_all()
            self._settled.notify_all()

    def _work(self):
        _running.pace = self.pace
        while True:
            with self._lock:
                self._idle += 1
                while self._jobs and not (self._queue and self._running < self.pace.limit):
                    self._task_ready.wait()
                self._idle -= 1
                if not self._queue:
                    return
                path, task, args, _running.paced = self._queue.popleft()
                self._running += 1
            try:
                if self._fatal_error is None and not self.stop.is_set:
                    with self.reporting(path):
                        task(*args)
            except Stopped:
                pass
            except self._fatal as error:
                with self._lock:
                    self._fatal_error = self._fatal_error or error
                    self._unfinished -= len(self._queue)
                    self._queue.clear()
            finally:
                with self._lock:
                    self._running -= 1
                    self._unfinished -= 1
                    if not self._unfinished or self._fatal_error is not None:
                        self._settled.notify_all()
                    self._start_workers()


class Outcome(object):
    """Whether the block of :meth:`TaskRunner.reporting` succeeded."""

    def __init__(self):
        self.succeeded = True
