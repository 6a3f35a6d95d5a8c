"""Downloads into directories holding links, directories and leftovers where they write."""

import fcntl
import itertools
import os
import secrets
import time

import pytest

from pydas import localpaths
from pydas.exceptions import TransferError
from pydas.localpaths import temporary_name, temporary_prefix
from pydas.partials import STALE_AGE

from .downloads import bitstream_of, md5_of, temporary_files, upload_tree
from .helpers import bitstream_gets

DATA = os.urandom(1024 * 1024 + 17)


class ChosenRandomness(object):
    """``secrets`` for :mod:`pydas.localpaths`, whose first random parts are ``chosen``."""

    def __init__(self, chosen):
        self._chosen = iter(chosen)

    def token_hex(self, count):
        return next(self._chosen, None) or secrets.token_hex(count)


def test_links_at_every_temporary_name_are_never_written_through(
        midas_server, client, tmp_path, monkeypatch):
    upload_tree(client, tmp_path / 'up', {'data.bin': DATA})
    bitstream_id, checksum = bitstream_of(midas_server, 'data.bin')
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'precious.txt').write_bytes(b'precious')
    (outside / 'linked.txt').write_bytes(b'linked')
    target = tmp_path / 'down'
    target.mkdir()
    prefix = temporary_prefix(bitstream_id, checksum)
    chosen = ['{0:016x}'.format(number) for number in range(6)]
    # The names the next run will try to create (and may find to resume): symbolic links
    # to a file and to nowhere, a hard link to a file outside, a FIFO.
    hostile = [target / (prefix + part + '.part') for part in chosen[:5]]
    hostile[0].symlink_to(outside / 'precious.txt')
    hostile[1].symlink_to(outside / 'created-through-a-link')
    hostile[2].symlink_to(outside)
    os.link(str(outside / 'linked.txt'), str(hostile[3]))
    os.mkfifo(str(hostile[4]))
    monkeypatch.setattr(localpaths, 'secrets', ChosenRandomness(chosen))

    result = client.download('/users/Ada_Lovelace/Private/data.bin', str(target))

    assert (target / 'data.bin').read_bytes() == DATA
    assert result.transferred == [str(target / 'data.bin')] and result.resumed == []
    assert sorted(os.listdir(str(outside))) == ['linked.txt', 'precious.txt']
    assert (outside / 'precious.txt').read_bytes() == b'precious'
    assert (outside / 'linked.txt').read_bytes() == b'linked'
    # Nothing of ours is left; what was in the way is left alone.
    assert temporary_files(target) == sorted(str(path) for path in hostile)


def test_directory_at_the_final_name_fails_that_file_only(midas_server, client, tmp_path):
    upload_tree(client, tmp_path / 'up', {'tree/x.bin': DATA, 'tree/y.bin': b'y' * 1000})
    midas_server.clear_calls()
    target = tmp_path / 'down'
    (target / 'tree' / 'x.bin').mkdir(parents=True)
    (target / 'tree' / 'x.bin' / 'keep.txt').write_bytes(b'mine')
    client.allow_existing_download_paths = True

    with pytest.raises(TransferError) as raised:
        client.download('/users/Ada_Lovelace/Private/tree', str(target))

    failed = str(target / 'tree' / 'x.bin')
    assert [failure.path for failure in raised.value.failures] == [failed]
    assert 'a directory is in the way' in str(raised.value)
    assert (target / 'tree' / 'x.bin' / 'keep.txt').read_bytes() == b'mine'
    assert (target / 'tree' / 'y.bin').read_bytes() == b'y' * 1000
    # The verified download stays, ready for when the way is clear.
    partial, = temporary_files(target)
    assert md5_of(partial) == bitstream_of(midas_server, 'x.bin')[1]

    (target / 'tree' / 'x.bin' / 'keep.txt').unlink()
    (target / 'tree' / 'x.bin').rmdir()
    midas_server.clear_calls()
    client.download('/users/Ada_Lovelace/Private/tree', str(target))

    assert (target / 'tree' / 'x.bin').read_bytes() == DATA
    assert bitstream_gets(midas_server) == []
    assert temporary_files(target) == []


def test_link_at_the_final_name_is_not_replaced(midas_server, client, tmp_path):
    upload_tree(client, tmp_path / 'up', {'data.bin': DATA})
    outside = tmp_path / 'outside.bin'
    outside.write_bytes(b'outside')
    target = tmp_path / 'down'
    target.mkdir()
    (target / 'data.bin').symlink_to(outside)

    with pytest.raises(TransferError) as raised:
        client.download('/users/Ada_Lovelace/Private/data.bin', str(target))

    assert 'a symbolic link is in the way' in str(raised.value)
    assert os.readlink(str(target / 'data.bin')) == str(outside)
    assert outside.read_bytes() == b'outside'


def test_only_our_stale_free_temporary_files_are_cleaned_up(midas_server, client, tmp_path):
    upload_tree(client, tmp_path / 'up', {'data.bin': DATA})
    target = tmp_path / 'down'
    target.mkdir()
    checksum = 'ab' * 16
    week_ago = time.time() - STALE_AGE - 3600

    def leftover(name, age=week_ago, content=b'partial'):
        path = target / name
        path.write_bytes(content)
        os.utime(str(path), (age, age))
        return path
    stale = leftover(temporary_name(999, checksum))
    recent = leftover(temporary_name(998, checksum), age=time.time() - 3600)
    held = leftover(temporary_name(997, checksum))
    not_ours = leftover('.pydas-notes.part')
    link = target / temporary_name(996, checksum)
    link.symlink_to(not_ours)
    os.utime(str(link), (week_ago, week_ago), follow_symlinks=False)

    with open(str(held), 'rb') as live_run:
        fcntl.flock(live_run.fileno(), fcntl.LOCK_EX)
        client.download('/users/Ada_Lovelace/Private/data.bin', str(target))

    assert not stale.exists()
    assert recent.read_bytes() == held.read_bytes() == not_ours.read_bytes() == b'partial'
    assert os.path.islink(str(link))
    assert (target / 'data.bin').read_bytes() == DATA


def test_partials_of_a_file_found_identical_are_removed(midas_server, client, tmp_path):
    upload_tree(client, tmp_path / 'up', {'data.bin': DATA})
    bitstream_id, checksum = bitstream_of(midas_server, 'data.bin')
    target = tmp_path / 'down'
    target.mkdir()
    (target / 'data.bin').write_bytes(DATA)
    for content in (DATA[:1000], DATA[:5000]):
        (target / temporary_name(bitstream_id, checksum)).write_bytes(content)
    midas_server.clear_calls()

    result = client.download('/users/Ada_Lovelace/Private/data.bin', str(target))

    assert result.unchanged == [str(target / 'data.bin')]
    assert os.listdir(str(target)) == ['data.bin']
    assert bitstream_gets(midas_server) == []


def test_fullest_free_partial_is_resumed_and_the_others_removed(midas_server, client,
                                                                tmp_path):
    upload_tree(client, tmp_path / 'up', {'data.bin': DATA})
    bitstream_id, checksum = bitstream_of(midas_server, 'data.bin')
    target = tmp_path / 'down'
    target.mkdir()
    sizes = itertools.cycle([1000, 300 * 1024, 5000])
    for size in itertools.islice(sizes, 3):
        (target / temporary_name(bitstream_id, checksum)).write_bytes(DATA[:size])
    midas_server.clear_calls()

    result = client.download('/users/Ada_Lovelace/Private/data.bin', str(target))

    assert result.resumed == [str(target / 'data.bin')]
    assert result.bytes_transferred == len(DATA) - 300 * 1024
    assert os.listdir(str(target)) == ['data.bin']
    assert (target / 'data.bin').read_bytes() == DATA
