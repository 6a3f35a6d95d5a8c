"""Uploads killed (SIGKILL) or interrupted (SIGINT) in the middle of a file, then run again:
no ``name (1)``, no empty item left behind, and only the rest of the file sent."""

import os
import signal
import subprocess
import sys
import time

import pytest

from pydas.serverpaths import resolve_destination

from cutting_relay import UPSTREAM, CuttingRelay

from .downloads import cli_environment
from .helpers import holds_exactly, write_tree
from .test_download_interrupt import STOP_LIMIT, interrupt, wait_for

MiB = 1024 * 1024
SIZE = 48 * MiB

# Uploads the file given, slowed down by its progress callback so that it can be
# stopped in the middle; prints the bytes sent so far, one line each time.
UPLOADER = r'''
import sys, time
import pydas
url, email, api_key, path = sys.argv[1:5]
pydas.login(email=email, api_key=api_key, url=url)

def progress(update):
    print(update.bytes_done, flush=True)
    time.sleep(0.2)

pydas.upload(path, progress=progress, jobs=1)
print('done', flush=True)
'''


def start_upload(server, ada, path):
    return subprocess.Popen(
        [sys.executable, '-c', UPLOADER, server.url, ada['email'], ada['api_key'], str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_sent(process, count, timeout=60):
    """Read the uploader's progress lines until it sent ``count`` bytes."""
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        if line.strip().isdigit() and int(line) >= count:
            return int(line)
        assert time.monotonic() < deadline, 'the upload did not get that far in time'
    pytest.fail('the uploader ended early: ' + process.stderr.read())


@pytest.fixture
def big_file(tmp_path):
    content = os.urandom(SIZE)
    write_tree(str(tmp_path), {'big.bin': content})
    return tmp_path / 'big.bin', content


@pytest.mark.parametrize('how', [signal.SIGKILL, signal.SIGINT], ids=['SIGKILL', 'SIGINT'])
def test_an_upload_stopped_mid_file_is_completed_by_the_next_run(
        midas_server, ada, client, big_file, how, capsys):
    path, content = big_file
    process = start_upload(midas_server, ada, path)
    sent = wait_until_sent(process, 16 * MiB)

    signalled = time.monotonic()
    process.send_signal(how)
    process.wait(timeout=10)
    stopped_after = time.monotonic() - signalled
    if how == signal.SIGINT:
        assert stopped_after < 2.0
        assert 'TransferInterrupted' in process.stderr.read()

    result = client.upload(str(path))

    assert result.resumed == [str(path)]
    private = resolve_destination(client, 'Private')
    holds_exactly(midas_server, private, {'big.bin': content})
    # Only what the server did not hold was sent again (what was in flight when the
    # process stopped, at most one chunk and the socket buffers, is sent twice).
    assert result.bytes_transferred <= SIZE - sent + 8 * MiB
    with capsys.disabled():
        print('\n{0}: stopped {1:.2f} s after the signal; the re-run sent {2} of {3} '
              'bytes'.format(signal.Signals(how).name, stopped_after,
                             result.bytes_transferred, SIZE))


def test_the_cli_stops_an_upload_within_two_seconds_exit_130_and_the_rerun_resumes(
        midas_server, ada, client, big_file, tmp_path, capsys):
    path, content = big_file
    with CuttingRelay(midas_server.url, rate=8 * MiB) as slow_link:
        run = subprocess.Popen(
            [sys.executable, '-m', 'pydas.cli', 'upload', str(path), '--quiet'],
            env=cli_environment(slow_link, ada), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: slow_link.moved[UPSTREAM] > 8 * MiB, 'the upload to get going')
        stopped_after = interrupt(run)
        stdout, stderr = run.communicate()

        assert run.returncode == 130, stderr
        assert stopped_after < STOP_LIMIT
        assert 'Uploaded 0 files (0 B)' in stdout and 'pydas: interrupted' in stderr

        # The same server (URL) again, now at full speed.
        slow_link.rate = None
        again = subprocess.run(
            [sys.executable, '-m', 'pydas.cli', 'upload', str(path), '--quiet'],
            env=cli_environment(slow_link, ada), stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=60)

    assert again.returncode == 0, again.stderr
    assert 'Uploaded 1 file (50.3 MB)' in again.stdout and '1 of them resumed' in again.stdout
    holds_exactly(midas_server, resolve_destination(client, 'Private'), {'big.bin': content})
    with capsys.disabled():
        print('\npydas upload stopped {0:.2f} s after SIGINT'.format(stopped_after))
