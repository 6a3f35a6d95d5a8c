"""The one retry policy of transfers (pydas.retries.retrying) and the runner's Ctrl-C."""

import threading
import time

import pytest

from pydas import retries
from pydas.exceptions import InvalidParameter, RequestError, TransferInterrupted
from pydas.retries import retrying
from pydas.transfer import TransferResult, interruptible
from pydas.workers import Stop, Stopped, TaskRunner


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    monkeypatch.setattr(retries, 'RETRY_PAUSE_FIRST', 0.0)


class Work(object):
    """Fails with a broken connection until ``succeed_after`` calls; each call moves
    ``position`` by the step given for that call."""

    def __init__(self, steps, succeed_after):
        self.steps = list(steps)
        self.succeed_after = succeed_after
        self.calls = 0
        self.position = 0

    def __call__(self):
        self.calls += 1
        self.position += self.steps.pop(0) if self.steps else 0
        if self.calls < self.succeed_after:
            raise RequestError('the connection broke')
        return 'done'


def test_attempts_that_got_further_do_not_count():
    work = Work(steps=[1] * 10, succeed_after=10)
    assert retrying(work, 2, 'f', position=lambda: work.position) == 'done'
    assert work.calls == 10


def test_attempts_in_a_row_without_progress_give_up():
    work = Work(steps=[1, 1, 0, 0, 0, 0], succeed_after=100)
    with pytest.raises(RequestError):
        retrying(work, 3, 'f', position=lambda: work.position)
    # Two that moved on, then three in a row that did not.
    assert work.calls == 5


def test_without_a_position_every_failure_counts():
    work = Work(steps=[], succeed_after=100)
    with pytest.raises(RequestError):
        retrying(work, 3, 'f')
    assert work.calls == 3


def test_an_error_that_retrying_cannot_mend_is_raised_at_once():
    calls = []

    def refused():
        calls.append(1)
        raise InvalidParameter('no such item', code=-150)

    with pytest.raises(InvalidParameter):
        retrying(refused, 5, 'f')
    assert len(calls) == 1


def test_a_failing_resume_counts_as_an_attempt_without_progress():
    work = Work(steps=[], succeed_after=2)
    resumes = []

    def resume():
        resumes.append(1)
        if len(resumes) < 3:
            raise RequestError('still down')

    assert retrying(work, 5, 'f', resume=resume) == 'done'
    assert len(resumes) == 3 and work.calls == 2


def test_no_attempt_starts_after_the_time_limit(monkeypatch):
    monkeypatch.setattr(retries, 'RETRY_TIME_LIMIT', 0.0)
    work = Work(steps=[1] * 10, succeed_after=10)
    with pytest.raises(RequestError):
        retrying(work, 3, 'f', position=lambda: work.position)
    assert work.calls == 1


def test_a_stopped_transfer_starts_no_further_attempt():
    stop = Stop()
    work = Work(steps=[], succeed_after=5)

    def resume():
        stop.set()

    with pytest.raises(Stopped):
        retrying(work, 5, 'f', resume=resume, stop=stop)
    assert work.calls == 1


@pytest.mark.parametrize('attempts', [0, -1])
def test_attempts_below_one_are_refused(attempts):
    with pytest.raises(ValueError, match='attempts must be at least 1'):
        retries.check_attempts(attempts)


def test_ctrl_c_stops_running_tasks_and_drops_queued_ones():
    result = TransferResult()
    started = threading.Event()
    aborted = threading.Event()
    ran = []

    def blocking(name):
        ran.append(name)
        started.set()
        with runner.stop.abortable(aborted.set):
            # Blocked, as on a silent network, until aborted.
            assert aborted.wait(30)

    runner = TaskRunner(1, result)
    for name in 'abc':
        runner.submit(name, blocking, name)
    assert started.wait(10)
    begun = time.monotonic()
    with pytest.raises(TransferInterrupted) as raised:
        with interruptible(result):
            with runner:
                raise KeyboardInterrupt()
    assert time.monotonic() - begun < 2.0
    assert ran == ['a'] and aborted.is_set()
    assert raised.value.result is result and not result.failed
