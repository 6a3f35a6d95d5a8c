"""``pydas upload`` and ``pydas download`` against the embedded server."""

import filecmp
import io
import os
import pty
import select
import subprocess
import sys

import pytest

from pydas import progressbar
from pydas.transfer import Progress, Skipped, TransferResult


@pytest.fixture
def dataset(tmp_path):
    """A local tree: a 2 MB file, a text file and a leaf folder of three slices."""
    root = tmp_path / 'upload' / 'study'
    (root / 'series01').mkdir(parents=True)
    (root / 'volume.raw').write_bytes(os.urandom(2 * 1024 * 1024))
    (root / 'notes.txt').write_text('hello\n')
    for number in range(3):
        (root / 'series01' / 'slice{0}.dcm'.format(number)).write_bytes(os.urandom(1000))
    return root


def children(ada_session, folder_id):
    """The (folder names, item names) of a server folder."""
    communicator, token = ada_session
    listing = communicator.folder_children(token, folder_id)
    return ([folder['name'] for folder in listing['folders']],
            {item['name']: item for item in listing['items']})


def private_id(ada_session):
    communicator, token = ada_session
    return next(folder['folder_id'] for folder in communicator.list_user_folders(token)
                if folder['name'] == 'Private')


def test_upload_then_download_round_trip(cli, midas_server, ada, ada_session, dataset, tmp_path):
    cli.login_as(midas_server, ada)

    sent = cli('upload', dataset, '--leaf-folders-as-items', '--jobs', '2')

    assert sent.returncode == 0, sent.stderr
    assert 'Uploaded 5 files (' in sent.stdout
    assert '; 0 identical, not sent; 0 failed' in sent.stdout
    assert '\r' not in sent.stderr and '5/5 files' in sent.stderr
    folders, _ = children(ada_session, private_id(ada_session))
    assert folders == ['study']
    communicator, token = ada_session
    study = communicator.folder_children(token, private_id(ada_session))['folders'][0]
    folders, items = children(ada_session, study['folder_id'])
    assert folders == [] and sorted(items) == ['notes.txt', 'series01', 'volume.raw']
    assert items['volume.raw']['sizebytes'] == str(2 * 1024 * 1024)

    received = cli('download', 'Private/study', tmp_path / 'restored', '--quiet')

    assert received.returncode == 0, received.stderr
    assert received.stderr == ''
    assert 'Downloaded 5 files (' in received.stdout
    comparison = filecmp.dircmp(str(dataset), str(tmp_path / 'restored' / 'study'))
    assert_same_tree(comparison)


def assert_same_tree(comparison):
    """Every file on both sides, with the same bytes, recursively."""
    assert not comparison.left_only and not comparison.right_only
    _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right,
                                           comparison.common_files, shallow=False)
    assert not mismatch and not errors
    for sub in comparison.subdirs.values():
        assert_same_tree(sub)


def test_upload_again_skips_identical_files(cli, midas_server, ada, dataset):
    cli.login_as(midas_server, ada)
    assert cli('upload', dataset, '--quiet').returncode == 0

    again = cli('upload', dataset, '--reuse-existing', '--quiet')

    assert again.returncode == 0, again.stderr
    assert 'Uploaded 0 files (0 B)' in again.stdout
    assert '; 5 identical, not sent; 0 failed' in again.stdout


def test_upload_again_by_default_adds_only_what_changed(
        cli, midas_server, ada, ada_session, dataset):
    cli.login_as(midas_server, ada)
    assert cli('upload', dataset, '--quiet').returncode == 0
    (dataset / 'notes.txt').write_bytes(b'changed notes')
    (dataset / 'added.txt').write_bytes(b'a new file')

    again = cli('upload', dataset, '--quiet')

    assert again.returncode == 0, again.stderr
    assert 'Uploaded 2 files (23 B)' in again.stdout
    assert '; 4 identical, not sent; 0 failed' in again.stdout
    communicator, token = ada_session
    assert children(ada_session, private_id(ada_session))[0] == ['study']
    study = communicator.folder_children(token, private_id(ada_session))['folders'][0]
    _, items = children(ada_session, study['folder_id'])
    assert sorted(items) == ['added.txt', 'notes.txt', 'volume.raw']
    notes = communicator.item_get(token, items['notes.txt']['item_id'])
    assert [[bitstream['sizebytes'] for bitstream in revision['bitstreams']]
            for revision in notes['revisions']] == [['6'], ['13']]


def test_upload_with_create_new_refuses_an_existing_folder_in_cli_terms(
        cli, midas_server, ada, dataset):
    cli.login_as(midas_server, ada)
    assert cli('upload', dataset, '--quiet').returncode == 0

    again = cli('upload', dataset, '--create-new', '--quiet')

    assert again.returncode == 1
    assert 'Leave out --create-new to add to it.' in again.stdout
    assert 'reuseExisting' not in again.stdout + again.stderr


def test_upload_to_a_subfolder_destination(cli, midas_server, ada, ada_session, dataset):
    cli.login_as(midas_server, ada)
    communicator, token = ada_session
    communicator.create_folder(token, 'incoming', private_id(ada_session))

    midas_server.clear_calls()
    result = cli('upload', dataset / 'notes.txt', dataset / 'volume.raw', '--dest',
                 'Private/incoming', '--quiet')

    assert result.returncode == 0, result.stderr
    # The destination is resolved once, from the home folder, for every LOCAL.
    methods = [call.method for call in midas_server.calls]
    assert methods.count('midas.user.get') == 1
    # Home, then Private; then the destination's items (to add to them), once per LOCAL.
    assert methods.count('midas.folder.children') == 4
    incoming = communicator.folder_children(token, private_id(ada_session))['folders'][0]
    assert sorted(children(ada_session, incoming['folder_id'])[1]) == ['notes.txt', 'volume.raw']


def test_failed_files_are_counted_and_exit_1(cli, midas_server, ada, dataset):
    cli.login_as(midas_server, ada)
    midas_server.faults.fail_next(count=1000, status=500, method='midas.upload.perform')

    result = cli('upload', dataset / 'notes.txt', '--quiet')

    assert result.returncode == 1
    assert 'Uploaded 0 files (0 B)' in result.stdout
    assert '; 0 identical, not sent; 1 failed' in result.stdout
    assert result.stderr == 'pydas: error: 1 file(s) failed (listed above)\n'
    assert '  failed: {0}: '.format(dataset / 'notes.txt') in result.stdout
    assert 'Traceback' not in result.stderr


def test_download_of_a_missing_path_fails(cli, midas_server, ada, tmp_path):
    cli.login_as(midas_server, ada)

    result = cli('download', 'Private/nothing', tmp_path)

    assert result.returncode == 1
    assert result.stderr.startswith('pydas: error: ')


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


def test_progress_on_a_terminal_redraws_one_line(monkeypatch):
    monkeypatch.setenv('COLUMNS', '200')
    now = [0.0]
    terminal = FakeTerminal()
    display = progressbar.ProgressDisplay(terminal, clock=lambda: now[0])

    for done in range(1, 5):
        now[0] += 1.0
        display(Progress(done * 1000000, 4000000, done, 4, 'f{0}'.format(done)))
    display.close()

    lines = terminal.getvalue().split('\r\x1b[K')[1:]
    assert len(lines) == 5  # four updates and the final state
    assert lines[1].startswith('[############............]  50%  2.0 MB / 4.0 MB  2/4 files')
    assert '1.0 MB/s  0:00:02 left' in lines[1]
    assert lines[-1].endswith('4/4 files  1.0 MB/s  0:00:00 left\n')


def test_progress_line_fits_the_terminal(monkeypatch):
    monkeypatch.setenv('COLUMNS', '40')
    terminal = FakeTerminal()
    display = progressbar.ProgressDisplay(terminal)

    display(Progress(1, 2, 0, 1, None))

    assert len(terminal.getvalue()) == len('\r\x1b[K') + 39


def test_progress_in_a_log_writes_few_plain_lines():
    now = [0.0]
    log = io.StringIO()
    display = progressbar.ProgressDisplay(log, clock=lambda: now[0])

    for done in range(100):
        now[0] += 0.1
        display(Progress(done, 100, 0, 1, None))
    display.close()

    lines = log.getvalue().splitlines()
    assert 2 <= len(lines) <= 4 and '\r' not in log.getvalue()


def test_summary_counts_every_outcome():
    result = TransferResult()
    result.completed('a', 1000)
    result.completed('b', 500, resumed=True)
    result.unchanged = ['c']
    result.skipped = [Skipped('d', 'symbolic link'), Skipped('e', 'empty item')]
    result.bytes_transferred = 2500

    assert progressbar.summary('upload', result, 2.0) == (
        'Uploaded 2 files (1.5 kB) in 2.0 s, 1 of them resumed; 1 identical, not sent; '
        '2 left out; 0 failed')
    assert progressbar.human_size(999) == '999 B'
    assert progressbar.human_duration(3725) == '1:02:05'


def test_progress_bar_on_a_terminal(cli, midas_server, ada, dataset):
    cli.login_as(midas_server, ada)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, '-m', 'pydas.cli', 'upload', str(dataset)], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=follower, env=cli.env, start_new_session=True)
    os.close(follower)
    try:
        summary = process.communicate(timeout=60)[0].decode()
        terminal = read_all(leader)
    finally:
        os.close(leader)

    assert process.returncode == 0
    assert 'Uploaded 5 files' in summary
    assert terminal.startswith(b'\r\x1b[K[')
    last_line = terminal.rsplit(b'\r\x1b[K', 1)[1]
    assert b'100%' in last_line and b'5/5 files' in last_line and last_line.endswith(b'\r\n')


def read_all(descriptor):
    """Read what a pseudo-terminal holds once its writer has exited."""
    received = b''
    while select.select([descriptor], [], [], 0)[0]:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:  # Linux reports the closed writer as EIO
            break
        if not chunk:
            break
        received += chunk
    return received
