"""The pace of transfers (concurrency that grows while the server keeps up, within jobs),
and the hashing of upload files ahead of their sending."""

import _thread
import threading
import time

import pytest

from pydas.checksums import file_md5
from pydas.exceptions import UploadFailed
from pydas.hashahead import HashAhead
from pydas.localtree import LocalFile
from pydas.retries import retrying
from pydas.transfer import TransferResult
from pydas import workers
from pydas.workers import (
    BULK_TASK_SIZE, PACE_JITTER, PACE_STEP, SHORT_ANSWER, SLOW_FACTOR, STARTING_JOBS, Pace,
    Stop, Stopped, TaskRunner)

from polling import poll
from tests.transfer.helpers import write_tree


def test_pace_grows_per_flat_short_answer_up_to_the_cap():
    pace = Pace(cap=7)
    assert pace.limit == STARTING_JOBS
    for _ in range(10):
        pace.answered(0.06)
    assert pace.limit == 7


def test_pace_starts_at_the_cap_when_jobs_is_smaller():
    assert Pace(cap=2).limit == 2


def test_pace_shrinks_when_short_answers_get_much_slower():
    pace = Pace(cap=64)
    for _ in range(8):
        pace.answered(0.05)
    assert pace.limit == STARTING_JOBS + 8 * PACE_STEP
    pace.answered(0.05 * (SLOW_FACTOR - 1))  # not flat, not slow yet
    assert pace.limit == STARTING_JOBS + 8 * PACE_STEP
    for _ in range(3):
        pace.answered(0.05 * SLOW_FACTOR + PACE_JITTER + 0.01)
    assert pace.limit == STARTING_JOBS + 8 * PACE_STEP - 3


def test_pace_leaves_long_answers_out():
    pace = Pace(cap=32)
    pace.answered(SHORT_ANSWER + 1)
    pace.answered(SHORT_ANSWER * 10)
    assert pace.limit == STARTING_JOBS


def test_pace_halves_on_pushback_and_never_goes_below_one():
    pace = Pace(cap=64)
    for _ in range(12):
        pace.answered(0.02)
    pace.pushed_back()
    assert pace.limit == (STARTING_JOBS + 12 * PACE_STEP) // 2
    for _ in range(10):
        pace.pushed_back()
    assert pace.limit == 1


def run_tasks(jobs, tasks):
    result = TransferResult()
    with TaskRunner(jobs, result) as runner:
        for number, task in enumerate(tasks):
            runner.submit('task%d' % number, task)
    return runner, result


def test_quick_answers_let_more_run_at_once_and_never_more_than_the_limit():
    lock = threading.Lock()
    running = [0, 0]  # now, most at once

    def quick():
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        workers.answered(0.001)  # as the transport does for each answer
        with lock:
            running[0] -= 1

    runner, result = run_tasks(8, [quick] * 40)
    assert not result.failed
    assert runner.pace.limit == 8
    assert running[1] <= 8
    # Now eight tasks that each wait for all eight: they finish only if eight run at once.
    barrier = threading.Barrier(8, timeout=10)
    result = TransferResult()
    with TaskRunner(8, result) as runner:
        runner.pace.limit = 8
        for number in range(8):
            runner.submit('waits%d' % number, barrier.wait)
    assert not result.failed


def test_an_answer_starts_queued_tasks_before_its_task_ends():
    """A task of several calls raises the pace with its first answer: the tasks waiting
    start while it goes on."""
    started = threading.Semaphore(0)
    release = threading.Event()

    def first_answer_then_wait():
        started.release()
        workers.answered(0.001)
        assert release.wait(10)

    result = TransferResult()
    with TaskRunner(32, result) as runner:
        for number in range(STARTING_JOBS + PACE_STEP):
            runner.submit('t%d' % number, first_answer_then_wait)
        # Every task runs at once although none has ended: the answers made room.
        for _ in range(STARTING_JOBS + PACE_STEP):
            assert started.acquire(timeout=10)
        release.set()
    assert not result.failed


def test_answers_of_bulk_tasks_and_outside_tasks_leave_the_pace_alone():
    def answers():
        for _ in range(5):
            workers.answered(0.001)

    result = TransferResult()
    with TaskRunner(32, result) as runner:
        runner.submit('big', answers, size=BULK_TASK_SIZE + 1)
    assert runner.pace.limit == STARTING_JOBS
    answers()  # this thread is no worker: nothing to tell
    assert runner.pace.limit == STARTING_JOBS
    with TaskRunner(32, result) as runner:
        runner.submit('small', answers, size=BULK_TASK_SIZE)
    assert runner.pace.limit == STARTING_JOBS + 5 * PACE_STEP
    assert not result.failed


def test_a_finished_task_wakes_no_idle_worker(monkeypatch):
    """32 tasks ending one after the other wake about one thread each, not every worker
    already idle (which cost a sixth of the client's CPU over many small files)."""
    wakeups = [0]

    class CountingCondition(threading.Condition):
        def wait(self, timeout=None):
            try:
                return super(CountingCondition, self).wait(timeout)
            finally:
                wakeups[0] += 1

    releases = [threading.Event() for _ in range(32)]
    monkeypatch.setattr(workers.threading, 'Condition', CountingCondition)
    result = TransferResult()
    with TaskRunner(32, result) as runner:
        runner.pace.limit = 32
        for number, release in enumerate(releases):
            runner.submit('task %d' % number, release.wait, 10)
        assert poll(lambda: runner._running == 32)
        for number, release in enumerate(releases):
            release.set()
            assert poll(lambda: runner._unfinished == 31 - number)
    assert not result.failed
    # Starting and closing wake each worker about once (64); waking every idle worker at
    # each end would add 0 + 1 + ... + 31 = 496.
    assert wakeups[0] <= 3 * 32


def test_a_ctrl_c_that_cannot_break_a_lock_wait_still_stops_the_transfer_soon():
    """_thread.interrupt_main() marks a Ctrl-C without waking the main thread, as Windows
    does (before Python 3.14) for a thread waiting on a lock: wait() must see it soon, not
    once every task has run (25 x 0.5 s here)."""
    release = threading.Event()
    started = []

    def task():
        started.append(1)
        release.wait(0.5)

    runner = TaskRunner(4, TransferResult())
    runner.pace.limit = 4
    for number in range(100):
        runner.submit('task %d' % number, task)
    ctrl_c = threading.Timer(0.1, _thread.interrupt_main)
    began = time.monotonic()
    ctrl_c.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.wait()
    finally:
        release.set()
        ctrl_c.join()
    assert time.monotonic() - began < 3
    assert len(started) <= 8


def test_explicit_jobs_caps_the_tasks_at_once():
    lock = threading.Lock()
    running = [0, 0]
    release = threading.Event()

    def task():
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
            if running[1] == 2:
                release.set()
        release.wait(10)
        with lock:
            running[0] -= 1

    _, result = run_tasks(2, [task] * 12)
    assert not result.failed
    assert running[1] == 2


def test_retryable_errors_in_tasks_halve_the_pace():
    calls = []

    def fails_once_then_works():
        def operation():
            calls.append(1)
            if len(calls) == 1:
                raise UploadFailed('the server answered 503')
        retrying(operation, 3, 'f')

    def fails():
        def operation():
            raise UploadFailed('the server answered 503')
        retrying(operation, 1, 'g')

    result = TransferResult()
    with TaskRunner(32, result) as runner:
        runner.pace.limit = 16
        runner.submit('f', fails_once_then_works)
    assert not result.failed and len(calls) == 2
    assert runner.pace.limit == 16 // 2
    with TaskRunner(32, result) as runner:
        runner.pace.limit = 16
        runner.submit('g', fails)
    assert [failure.path for failure in result.failed] == ['g']
    assert runner.pace.limit == 8


def test_upload_and_download_of_many_files_with_the_default_pace(client, tmp_path):
    files = dict(('tree/f%03d.txt' % number, b'file %d\n' % number) for number in range(60))
    write_tree(str(tmp_path / 'up'), files)
    result = client.upload(str(tmp_path / 'up' / 'tree'))
    assert len(result.transferred) + len(result.unchanged) == 60
    path = '/users/Ada_Lovelace/Private/tree'
    result = client.download(path, str(tmp_path / 'down'))
    assert len(result.transferred) == 60
    for name, content in files.items():
        with open(str(tmp_path / 'down' / name), 'rb') as stream:
            assert stream.read() == content


def test_files_are_hashed_ahead_in_order_and_errors_go_to_their_file(tmp_path):
    paths = []
    for number in range(5):
        path = tmp_path / ('f%d' % number)
        path.write_bytes(b'content %d' % number)
        paths.append(str(path))
    files = [LocalFile(path, 9) for path in paths] + [LocalFile(str(tmp_path / 'gone'), 0)]
    stop = Stop()
    hashes = HashAhead(attempts=2, stop=stop, ahead=2)
    hashes.add(files)
    for local_file in files[:5]:
        state, checksum = hashes.take(local_file)
        assert checksum == file_md5(local_file.path)[0] and state.size == 9
    with pytest.raises(FileNotFoundError):
        hashes.take(files[5])
    # A take waiting for a file never queued returns at once when the upload stops.
    waiting = threading.Thread(target=lambda: stop.set())
    waiting.start()
    with pytest.raises(Stopped):
        hashes.take(LocalFile(paths[0], 9))
    waiting.join()


def test_each_answer_of_the_server_feeds_the_pace_but_not_a_5xx(midas_server, client,
                                                                monkeypatch):
    # Every answer of this busy host counts as flat: the test is about which ones count.
    monkeypatch.setattr(workers, 'PACE_JITTER', 60.0)
    monkeypatch.setattr(workers, 'SHORT_ANSWER', 60.0)

    def version_calls():
        for _ in range(3):
            client.communicator.get_server_version()

    result = TransferResult()
    with TaskRunner(32, result) as runner:
        runner.submit('three calls', version_calls)
    assert runner.pace.limit == STARTING_JOBS + 3 * PACE_STEP
    # A 503, retried by the transport, is no answer to learn from; the retry's is.
    midas_server.faults.fail_next(1, status=503, method='midas.version')
    with TaskRunner(32, result) as runner:
        runner.submit('one call', client.communicator.get_server_version)
    assert runner.pace.limit == STARTING_JOBS + PACE_STEP
    assert not result.failed


@pytest.mark.parametrize('bulk_size', [BULK_TASK_SIZE, 0])
def test_transfers_feed_the_pace_with_the_answers_of_their_small_tasks(
        midas_server, client, tmp_path, monkeypatch, bulk_size):
    """Token and check of an upload, item.get and GET of a download count; a PUT (timed by
    its bytes) does not, nor does any call of a task moving more than BULK_TASK_SIZE."""
    monkeypatch.setattr(workers, 'BULK_TASK_SIZE', bulk_size)
    counted = []
    answered = Pace.answered
    monkeypatch.setattr(Pace, 'answered', lambda pace, seconds: (
        counted.append(threading.current_thread().name), answered(pace, seconds)))
    write_tree(str(tmp_path / 'up'), dict(('tree/f%d.txt' % number, b'%d' % number)
                                          for number in range(3)))
    client.upload(str(tmp_path / 'up' / 'tree'))
    uploads = len(counted)
    del counted[:]
    client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'))
    assert all(name.startswith('pydas-transfer-') for name in counted)
    if bulk_size:
        assert (uploads, len(counted)) == (3 * 2, 3 * 2)
    else:
        # Only the item.get tasks of the download move nothing.
        assert (uploads, len(counted)) == (0, 3)
