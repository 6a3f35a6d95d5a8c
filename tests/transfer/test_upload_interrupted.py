"""Uploads killed (SIGKILL) or interrupted (SIGINT) in the middle of a file, then run again:
no ``name (1)``, no empty item left behind, and only the rest of the file sent."""

import os
import signal
import subprocess
import sys
import time

import pytest

from pydas.serverpaths import resolve_destination

from .helpers import holds_exactly, write_tree

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
