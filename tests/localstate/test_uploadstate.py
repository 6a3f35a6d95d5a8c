"""Unfinished uploads: recalled only for the same file unchanged, stale after a week, secret."""

import os
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from pydas import uploadstate, userdirs
from pydas.uploadstate import UploadState

SERVER = 'http://127.0.0.1:8080/midas'
MD5 = '0123456789abcdef' * 2
TOKEN = 'a9f3c1d2e4b5a6978877665544332211uploadtoken'
FILE = {'size': 5000, 'mtime_ns': 1700000000123456789, 'md5': MD5}


def entries(state):
    with sqlite3.connect(state.path) as connection:
        return connection.execute('SELECT path, upload_token FROM uploads').fetchall()


def test_round_trip_in_the_users_state_directory(tmp_path):
    path = str(tmp_path / 'scan.nii')
    UploadState().remember(SERVER, path, item_id=42, upload_token=TOKEN, **FILE)
    # Another object (another run) finds it; the trailing slash of a URL does not matter.
    state = UploadState()
    assert state.recall(SERVER + '/', path, **FILE) == (42, TOKEN)
    assert state.path == os.path.join(userdirs.user_state_dir(), 'uploads.sqlite')
    assert stat.S_IMODE(os.stat(state.path).st_mode) == 0o600
    state.remember(SERVER, path, item_id='43', upload_token=TOKEN + 'b', **FILE)
    assert state.recall(SERVER, path, **FILE) == ('43', TOKEN + 'b')
    assert len(entries(state)) == 1


@pytest.mark.parametrize('changed', [
    {'server_url': 'http://127.0.0.1:8081/midas'},
    {'path': 'other.nii'},
    {'size': 5001},
    {'mtime_ns': FILE['mtime_ns'] + 1},
    {'md5': 'f' * 32},
    {'destination': 'folder 7/scan.nii'},
], ids=lambda changed: next(iter(changed)))
def test_nothing_recalled_for_another_file_or_server(tmp_path, monkeypatch, changed):
    monkeypatch.chdir(tmp_path)
    state = UploadState()
    state.remember(SERVER, 'scan.nii', item_id=42, upload_token=TOKEN, **FILE)
    key = dict(FILE, server_url=SERVER, path=str(tmp_path / 'scan.nii'))
    assert state.recall(**key) == (42, TOKEN)
    assert state.recall(**dict(key, **changed)) is None


def test_destinations_are_apart_and_forget(tmp_path):
    path = tmp_path / 'scan.nii'
    state = UploadState()
    state.remember(SERVER, path, item_id=1, upload_token='t1', destination='folder 1', **FILE)
    state.remember(SERVER, path, item_id=2, upload_token='t2', destination='folder 2', **FILE)
    state.remember(SERVER, tmp_path / 'other', item_id=3, upload_token='t3', **FILE)
    assert state.recall(SERVER, path, destination='folder 2', **FILE) == (2, 't2')
    assert state.recall(SERVER, path, **FILE) is None
    state.forget(SERVER, path, destination='folder 1')
    assert state.recall(SERVER, path, destination='folder 1', **FILE) is None
    assert state.recall(SERVER, path, destination='folder 2', **FILE) == (2, 't2')
    state.forget(SERVER + '/', path)
    assert state.recall(SERVER, path, destination='folder 2', **FILE) is None
    assert state.recall(SERVER, tmp_path / 'other', **FILE) == (3, 't3')


def test_stale_entries_are_ignored_and_removed(tmp_path):
    state = UploadState()
    state.remember(SERVER, tmp_path / 'old', item_id=1, upload_token='old', **FILE)
    state.remember(SERVER, tmp_path / 'recent', item_id=2, upload_token='recent', **FILE)
    now = time.time()
    with sqlite3.connect(state.path) as connection:
        for name, age in (('old', uploadstate.MAX_AGE + 60),
                          ('recent', uploadstate.MAX_AGE - 60)):
            connection.execute('UPDATE uploads SET created = ? WHERE path = ?',
                               (int(now - age), os.fsencode(str(tmp_path / name))))
    assert state.recall(SERVER, tmp_path / 'old', **FILE) is None
    assert state.recall(SERVER, tmp_path / 'recent', **FILE) == (2, 'recent')
    assert entries(state) == [(os.fsencode(str(tmp_path / 'recent')), 'recent')]
    assert uploadstate.MAX_AGE == 7 * 24 * 3600


@pytest.mark.parametrize('value', ['off', '0', 'false', 'No'])
def test_environment_variable_turns_it_off(tmp_path, monkeypatch, value):
    monkeypatch.setenv('PYDAS_UPLOAD_STATE', value)
    # The checksum cache's variable is not this one.
    monkeypatch.setenv('PYDAS_CHECKSUM_CACHE', 'on')
    for state in (UploadState(), uploadstate.default_state()):
        state.remember(SERVER, tmp_path / 'f', item_id=1, upload_token=TOKEN, **FILE)
        assert state.recall(SERVER, tmp_path / 'f', **FILE) is None
        assert not state.enabled
    assert not os.path.exists(userdirs.user_state_dir())
    monkeypatch.setenv('PYDAS_UPLOAD_STATE', 'on')
    monkeypatch.setenv('PYDAS_CHECKSUM_CACHE', 'off')
    assert uploadstate.default_state().enabled


def test_unwritable_state_directory(tmp_path, monkeypatch, pydas_warnings):
    (tmp_path / 'plain-file').write_bytes(b'')
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'plain-file' / 'state'))
    state = uploadstate.default_state()
    for _ in range(3):
        state.remember(SERVER, tmp_path / 'f', item_id=1, upload_token=TOKEN, **FILE)
        assert state.recall(SERVER, tmp_path / 'f', **FILE) is None
        state.forget(SERVER, tmp_path / 'f')
    assert not state.enabled
    warnings = pydas_warnings()
    assert len(warnings) == 1 and state.path in warnings[0], warnings
    assert 'upload state' in warnings[0] and 'Not a directory' in warnings[0]


def test_the_token_is_never_logged(tmp_path, pydas_warnings, caplog):
    state = UploadState(tmp_path / 'uploads.sqlite', busy_timeout=0.05)
    state.remember(SERVER, tmp_path / 'f', item_id=1, upload_token=TOKEN, **FILE)
    assert state.recall(SERVER, tmp_path / 'f', **FILE) == (1, TOKEN)
    holder = sqlite3.connect(state.path, isolation_level=None)
    try:
        holder.execute('BEGIN EXCLUSIVE')
        state.remember(SERVER, tmp_path / 'f', item_id=1, upload_token=TOKEN, **FILE)
    finally:
        holder.close()
    assert len(pydas_warnings()) == 1
    assert caplog.text and TOKEN not in caplog.text
    for name in os.listdir(tmp_path):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name


# Remembers one upload, then waits for its standard input to close.
HOLDER = r'''
import sys
from pydas.uploadstate import UploadState
UploadState().remember('http://127.0.0.1:1', sys.argv[1], 1, 2, 'a' * 32, 3, 'token')
print('remembered', flush=True)
sys.stdin.read()
'''


def test_a_record_a_live_run_uses_is_not_resumed_by_another(tmp_path):
    path = str(tmp_path / 'scan.nii')
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == 'remembered\n'
        state = UploadState()
        assert state.recall('http://127.0.0.1:1', path, 1, 2, 'a' * 32) is None
        # Nor is it overwritten.
        state.remember('http://127.0.0.1:1', path, 1, 2, 'a' * 32, 4, 'other token')
    finally:
        holder.communicate('', timeout=30)
    assert holder.returncode == 0
    # The run ended (however): its record can be resumed now.
    assert UploadState().recall('http://127.0.0.1:1', path, 1, 2, 'a' * 32) == (3, 'token')
