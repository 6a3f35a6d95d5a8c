"""Ctrl-C (SIGINT) stops a download within 2 seconds, keeps its partial file, and the
next run resumes it."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from pydas.testing.http import ConnectionCut

from cutting_relay import CuttingRelay
from polling import poll

from .downloads import (
    bitstream_of, cli_environment, md5_of, start_download, temporary_files, upload_tree)
from .helpers import bitstream_gets, offset_of

SLOW = os.urandom(8 * 1024 * 1024)
RATE = 2 * 1024 * 1024  # bytes per second each way
STOP_LIMIT = 2.0
TIMEOUT = 30


@pytest.fixture
def slow_link(midas_server):
    """A relay to the server that never cuts and moves ``RATE`` bytes per second."""
    with CuttingRelay(midas_server.url, rate=RATE) as relay:
        yield relay


@pytest.fixture
def slow_file(midas_server, client, tmp_path):
    """Private/slow/slow.bin on the server; its bitstream id."""
    upload_tree(client, tmp_path / 'up', {'slow/slow.bin': SLOW, 'slow/small.txt': b'small'})
    midas_server.clear_calls()
    return bitstream_of(midas_server, 'slow.bin')[0]


def wait_for(condition, what, timeout=TIMEOUT):
    """Poll ``condition()`` until it returns something true; return it."""
    found = poll(condition, timeout)
    assert found, 'timed out waiting for ' + what
    return found


def partial_holding(target, at_least):
    """The temporary file below ``target`` holding ``at_least`` bytes, if any."""
    for path in temporary_files(target):
        try:
            if os.path.getsize(path) >= at_least:
                return path
        except FileNotFoundError:
            pass
    return None


def interrupt(process):
    """Send SIGINT; return the seconds until the process exited."""
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    return time.monotonic() - sent


def test_cli_stops_within_two_seconds_and_the_rerun_resumes(midas_server, ada, slow_file,
                                                            slow_link, tmp_path):
    target = tmp_path / 'down'
    run = subprocess.Popen(
        [sys.executable, '-m', 'pydas.cli', 'download', 'Private/slow', str(target), '--quiet'],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(cli_environment(midas_server, ada), MIDAS_URL=slow_link.url))
    partial = wait_for(lambda: partial_holding(target, 1024 * 1024), 'a partial of 1 MiB')

    stopped_in = interrupt(run)
    stdout, stderr = run.communicate()

    print('SIGINT to exit of pydas download: {0:.2f} s'.format(stopped_in))
    assert run.returncode == 130, stderr
    assert stopped_in < STOP_LIMIT
    assert 'Downloaded' in stdout and '0 failed' in stdout
    assert 'pydas: interrupted' in stderr
    assert not (target / 'slow' / 'slow.bin').exists()
    kept = os.path.getsize(partial)
    assert 1024 * 1024 <= kept < len(SLOW)
    midas_server.clear_calls()

    again = start_download(midas_server, ada, 'Private/slow', target)
    stdout, stderr = again.communicate(timeout=TIMEOUT)

    assert again.returncode == 0, stderr
    assert '1 of them resumed' in stdout
    assert md5_of(str(target / 'slow' / 'slow.bin')) == bitstream_of(midas_server,
                                                                     'slow.bin')[1]
    assert [offset_of(call) for call in bitstream_gets(midas_server)
            if call.query['bitstream'] == str(slow_file)] == [kept]
    assert temporary_files(target) == []


API_DOWNLOAD = '''
import sys
from pydas.exceptions import TransferInterrupted
from pydas.session import Client
url, email, api_key, target = sys.argv[1:]
with Client(url=url) as client:
    client.login(email=email, api_key=api_key)
    try:
        client.download('/users/Ada_Lovelace/Private/slow', target)
    except TransferInterrupted as interrupted:
        print('interrupted', len(interrupted.result.transferred), interrupted.result.failed)
        sys.exit(3)
'''


def test_api_raises_transfer_interrupted(midas_server, ada, slow_file, slow_link, tmp_path):
    target = tmp_path / 'down'
    run = subprocess.Popen(
        [sys.executable, '-c', API_DOWNLOAD, slow_link.url, ada['email'], ada['api_key'],
         str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=cli_environment(midas_server, ada))
    wait_for(lambda: partial_holding(target, 1024 * 1024), 'a partial of 1 MiB')

    stopped_in = interrupt(run)
    stdout, stderr = run.communicate()

    assert run.returncode == 3, stderr
    assert stopped_in < STOP_LIMIT
    assert stdout.split() == ['interrupted', '1', '[]']  # small.txt done, nothing failed
    assert partial_holding(target, 1024 * 1024)


@pytest.fixture
def held_answers(midas_server, monkeypatch):
    """The server holds its answers to downloads (where no abort of the client reaches)
    until the test ends, then drops their connections, consuming no fault of a later test."""
    released = threading.Event()
    delay = midas_server.faults.apply_delay

    def hold(method):
        if method is None:  # the download controller
            released.wait(TIMEOUT)
            raise ConnectionCut()
        delay(method)
    monkeypatch.setattr(midas_server.faults, 'apply_delay', hold)
    yield
    released.set()


def test_second_interrupt_exits_at_once(midas_server, ada, slow_file, held_answers,
                                        tmp_path):
    target = tmp_path / 'down'
    run = start_download(midas_server, ada, 'Private/slow', target)
    wait_for(lambda: temporary_files(target), 'a temporary file')

    run.send_signal(signal.SIGINT)
    first = time.monotonic()
    # Interrupt again until it is gone: the first SIGINT may not be handled yet.
    while run.poll() is None and time.monotonic() - first < TIMEOUT:
        run.send_signal(signal.SIGINT)
        time.sleep(0.05)
    stopped_in = time.monotonic() - first
    stdout, stderr = run.communicate()

    assert run.returncode == 130
    assert 'interrupted again; exiting now' in stderr
    assert stopped_in < 1.0
