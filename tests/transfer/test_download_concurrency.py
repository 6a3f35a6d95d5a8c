"""Several downloads into one directory at once end with correct files, never a mix."""

import fcntl
import os
import threading

import pytest

from pydas.localpaths import temporary_name
from pydas.session import Client

from .downloads import bitstream_of, md5_of, start_download, temporary_files, upload_tree
from .helpers import bitstream_gets, offset_of

BIG = 64 * 1024 * 1024
SMALL = {'tree/notes.txt': b'notes\n', 'tree/sub/a.bin': os.urandom(300 * 1024),
         'tree/sub/b.bin': os.urandom(1024)}
TIMEOUT = 60


@pytest.fixture
def tree(midas_server, client, tmp_path):
    """A tree on the server, with a file big enough for downloads to overlap: its
    relative paths and MD5s."""
    files = dict(SMALL)
    files['tree/big.bin'] = os.urandom(BIG)
    upload_tree(client, tmp_path / 'up', files)
    midas_server.clear_calls()
    return {path[len('tree/'):]: md5_of(str(tmp_path / 'up' / path)) for path in files}


def assert_tree(target, tree):
    found = {os.path.relpath(os.path.join(directory, name), target): md5_of(
        os.path.join(directory, name))
        for directory, _, names in os.walk(target) for name in names}
    assert found == tree
    assert temporary_files(target) == []


def overlap_the_big_download(server):
    """Hold the GETs of both runs (4 files each) a moment, so that both runs hold a
    partial of the big file at once and then write it together."""
    server.faults.delay(0.5, count=8, method='download')


def test_two_threads_download_one_tree_into_one_directory(midas_server, ada, tree, tmp_path):
    target = tmp_path / 'down'
    target.mkdir()
    errors = []

    def download():
        try:
            with Client(url=midas_server.url) as client:
                client.login(email=ada['email'], api_key=ada['api_key'])
                client.allow_existing_download_paths = True
                client.download('/users/Ada_Lovelace/Private/tree', str(target))
        except Exception as error:  # reported by the assertion below
            errors.append(error)
    overlap_the_big_download(midas_server)
    threads = [threading.Thread(target=download) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)

    assert errors == []
    assert_tree(str(target / 'tree'), tree)
    big_id, _ = bitstream_of(midas_server, 'big.bin')
    big_gets = [call for call in bitstream_gets(midas_server)
                if call.query['bitstream'] == str(big_id)]
    # Both runs fetched the whole big file, each into a temporary file of its own.
    assert [offset_of(call) for call in big_gets] == [0, 0]


def test_two_processes_download_one_tree_into_one_directory(midas_server, ada, tree,
                                                            tmp_path):
    target = tmp_path / 'down'
    target.mkdir()
    overlap_the_big_download(midas_server)

    runs = [start_download(midas_server, ada, 'Private/tree', target) for _ in range(2)]
    outputs = [run.communicate(timeout=TIMEOUT) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert_tree(str(target / 'tree'), tree)
    for stdout, _ in outputs:
        assert '0 failed' in stdout


def test_stale_partial_is_resumed_by_one_run_only(midas_server, ada, client, tree, tmp_path):
    target = tmp_path / 'down'
    (target / 'tree').mkdir(parents=True)
    big_id, checksum = bitstream_of(midas_server, 'big.bin')
    stale = target / 'tree' / temporary_name(big_id, checksum)
    with open(str(tmp_path / 'up' / 'tree' / 'big.bin'), 'rb') as original:
        stale.write_bytes(original.read(BIG // 2))
    overlap_the_big_download(midas_server)

    runs = [start_download(midas_server, ada, 'Private/tree', target) for _ in range(2)]
    outputs = [run.communicate(timeout=TIMEOUT) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert_tree(str(target / 'tree'), tree)
    big_gets = [call for call in bitstream_gets(midas_server)
                if call.query['bitstream'] == str(big_id)]
    # One run took the partial over, the other downloaded into a file of its own.
    assert sorted(offset_of(call) for call in big_gets) == [0, BIG // 2]
    assert sum('1 of them resumed' in stdout for stdout, _ in outputs) == 1


def test_partial_held_by_a_live_run_is_never_written(midas_server, client, tree, tmp_path):
    target = tmp_path / 'down'
    (target / 'tree' / 'sub').mkdir(parents=True)
    a_id, checksum = bitstream_of(midas_server, 'a.bin')
    held = target / 'tree' / 'sub' / temporary_name(a_id, checksum)
    held.write_bytes(b'written by another run')
    client.allow_existing_download_paths = True
    with open(str(held), 'rb') as other_run:
        fcntl.flock(other_run.fileno(), fcntl.LOCK_EX)

        client.download('/users/Ada_Lovelace/Private/tree', str(target))

        assert held.read_bytes() == b'written by another run'
    assert md5_of(str(target / 'tree' / 'sub' / 'a.bin')) == tree['sub/a.bin']
    # The other run's file stays its own; the finished file's own temporary file is gone.
    assert temporary_files(target) == [str(held)]
