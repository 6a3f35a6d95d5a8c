"""Re-runs into a tree already there, empty items, write errors and honest summaries."""

import errno
import os
import subprocess

import pytest

from pydas.exceptions import TransferError
from pydas.localpaths import temporary_name

from .downloads import bitstream_of, md5_of, start_download, temporary_files, upload_tree
from .helpers import bitstream_gets, offset_of, read_tree

A = os.urandom(600 * 1024)
B = os.urandom(200 * 1024)
NOTES = b'notes\n' * 100
TIMEOUT = 60


@pytest.fixture
def tree(midas_server, client, tmp_path):
    """Private/tree: notes.txt, a.bin, b.bin and an item without bitstream, 'empty'."""
    upload_tree(client, tmp_path / 'up', {'tree/notes.txt': NOTES, 'tree/a.bin': A,
                                          'tree/b.bin': B})
    communicator, token = client.communicator, client.token
    folder = communicator.folder_children(token, private_id(client))['folders'][0]
    communicator.create_item(token, 'empty', folder['folder_id'])
    midas_server.clear_calls()
    return folder


def private_id(client):
    return next(folder['folder_id'] for folder in
                client.communicator.list_user_folders(client.token)
                if folder['name'] == 'Private')


def test_empty_item_is_skipped_and_creates_nothing(client, tree, tmp_path):
    target = tmp_path / 'down'

    result = client.download('/users/Ada_Lovelace/Private/tree', str(target))

    assert read_tree(str(target)) == {'tree/notes.txt': NOTES, 'tree/a.bin': A,
                                      'tree/b.bin': B}
    assert [(skipped.path, skipped.reason) for skipped in result.skipped] == [
        (str(target / 'tree' / 'empty'), 'empty item (no bitstream): nothing created')]

    alone = client.download('/users/Ada_Lovelace/Private/tree/empty', str(tmp_path / 'alone'))

    assert os.listdir(str(tmp_path / 'alone')) == []
    assert len(alone.skipped) == 1 and alone.transferred == []


def test_api_keeps_refusing_an_existing_folder_directory_by_default(client, tree, tmp_path):
    (tmp_path / 'down' / 'tree').mkdir(parents=True)

    with pytest.raises(FileExistsError):
        client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'))


def test_cli_rerun_into_part_of_the_tree_resumes_and_skips(midas_server, ada, tree,
                                                           tmp_path):
    target = tmp_path / 'down'
    (target / 'tree').mkdir(parents=True)
    (target / 'tree' / 'notes.txt').write_bytes(NOTES)
    a_id, a_md5 = bitstream_of(midas_server, 'a.bin')
    (target / 'tree' / temporary_name(a_id, a_md5)).write_bytes(A[:100 * 1024])

    run = start_download(midas_server, ada, 'Private/tree', target)
    stdout, stderr = run.communicate(timeout=TIMEOUT)

    assert run.returncode == 0, stderr
    assert read_tree(str(target)) == {'tree/notes.txt': NOTES, 'tree/a.bin': A,
                                      'tree/b.bin': B}
    # Bytes and files completed: a.bin (resumed) and b.bin; notes.txt was in place.
    assert ('Downloaded 2 files (819.2 kB) in' in stdout and ', 1 of them resumed; '
            '1 identical, not received; 1 left out; 0 failed' in stdout), stdout
    assert '  left out: {0}: empty item'.format(target / 'tree' / 'empty') in stdout
    assert sorted(offset_of(call) for call in bitstream_gets(midas_server)) == [0, 100 * 1024]

    again = start_download(midas_server, ada, 'Private/tree', target)
    stdout, stderr = again.communicate(timeout=TIMEOUT)

    assert again.returncode == 0, stderr
    assert ('Downloaded 0 files (0 B) in' in stdout
            and '; 3 identical, not received; 1 left out; 0 failed' in stdout), stdout


def test_write_error_removes_that_partial_only(midas_server, client, tree, tmp_path,
                                               monkeypatch):
    target = tmp_path / 'down'
    (target / 'tree').mkdir(parents=True)
    a_id, a_md5 = bitstream_of(midas_server, 'a.bin')
    b_id, b_md5 = bitstream_of(midas_server, 'b.bin')
    doomed = target / 'tree' / temporary_name(a_id, a_md5)
    doomed.write_bytes(A[:100 * 1024])
    resumed = target / 'tree' / temporary_name(b_id, b_md5)
    resumed.write_bytes(B[:1000])
    other = target / 'tree' / temporary_name(999, 'ab' * 16)
    other.write_bytes(b'another download')
    real_pwrite = os.pwrite

    def failing_pwrite(fd, data, offset):
        if os.readlink('/proc/self/fd/{0}'.format(fd)) == str(doomed):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_pwrite(fd, data, offset)
    monkeypatch.setattr(os, 'pwrite', failing_pwrite)
    client.allow_existing_download_paths = True

    with pytest.raises(TransferError) as raised:
        client.download('/users/Ada_Lovelace/Private/tree', str(target))

    failure, = raised.value.failures
    assert failure.path == str(target / 'tree' / 'a.bin')
    assert 'Input/output error; the partial download was removed' in str(failure)
    assert not doomed.exists() and not (target / 'tree' / 'a.bin').exists()
    # A write error is no reason to try again.
    assert [offset_of(call) for call in bitstream_gets(midas_server)
            if call.query['bitstream'] == str(a_id)] == [100 * 1024]
    assert (target / 'tree' / 'b.bin').read_bytes() == B
    assert raised.value.result.resumed == [str(target / 'tree' / 'b.bin')]
    assert (target / 'tree' / 'notes.txt').read_bytes() == NOTES
    assert temporary_files(target) == [str(other)]


@pytest.fixture
def small_disk(tmp_path):
    """A directory on an 8 MiB tmpfs."""
    mount_point = tmp_path / 'small'
    mount_point.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=8m', 'tmpfs',
                              str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip('cannot mount a tmpfs: {0}'.format(mounted.stderr.strip()))
    try:
        yield mount_point
    finally:
        subprocess.run(['umount', '-l', str(mount_point)], check=True)


def test_full_disk_removes_the_partial_and_fails_that_file(midas_server, client, tmp_path,
                                                           small_disk):
    big = os.urandom(12 * 1024 * 1024)
    upload_tree(client, tmp_path / 'up', {'disk/big.bin': big, 'disk/small.bin': B})
    small_disk_tree = small_disk / 'disk'

    with pytest.raises(TransferError) as raised:
        client.download('/users/Ada_Lovelace/Private/disk', str(small_disk), jobs=1)

    failure, = raised.value.failures
    assert failure.path == str(small_disk_tree / 'big.bin')
    assert 'No space left on device; the partial download was removed' in str(failure)
    assert sorted(os.listdir(str(small_disk_tree))) == ['small.bin']
    assert md5_of(str(small_disk_tree / 'small.bin')) == bitstream_of(midas_server,
                                                                      'small.bin')[1]
    assert raised.value.result.bytes_completed == len(B)
