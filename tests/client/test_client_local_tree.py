"""What an upload finds on disk (pydas.localtree), checked on the server's stored bytes."""

import hashlib
import os

import pytest

from pydas.exceptions import LocalPathNotFound, PydasException, TransferError
from pydas.session import Client


@pytest.fixture
def client(midas_server, ada):
    with Client(url=midas_server.url) as logged_in:
        logged_in.login(email=ada['email'], api_key=ada['api_key'])
        yield logged_in


def stored(server, name):
    """The bytes the server stores for the bitstream ``name`` (None if it has none)."""
    rows = server.query('SELECT checksum FROM bitstream WHERE name = ?', name)
    if not rows:
        return None
    assert len(rows) == 1, rows
    with open(server.assetstore_file(rows[0]['checksum']), 'rb') as stream:
        return stream.read()


def bitstream_names(server):
    return sorted(row['name'] for row in server.query('SELECT name FROM bitstream'))


@pytest.mark.parametrize('pattern', ['/nonexistent/scan.raw', '', 'no-such-*.raw'])
def test_nothing_found_raises_file_not_found(client, midas_server, tmp_path, monkeypatch,
                                             pattern):
    monkeypatch.chdir(str(tmp_path))
    with pytest.raises(LocalPathNotFound) as exc_info:
        client.upload(pattern)
    assert isinstance(exc_info.value, FileNotFoundError)
    assert isinstance(exc_info.value, PydasException)
    assert bitstream_names(midas_server) == []


def test_an_existing_path_is_literal(client, midas_server, tmp_path):
    (tmp_path / 'scan[1].raw').write_bytes(b'the bracketed one')
    (tmp_path / 'scan1.raw').write_bytes(b'the other one')
    result = client.upload(str(tmp_path / 'scan[1].raw'))
    assert result.transferred == [str(tmp_path / 'scan[1].raw')]
    assert bitstream_names(midas_server) == ['scan[1].raw']
    assert stored(midas_server, 'scan[1].raw') == b'the bracketed one'


def test_a_pattern_still_matches(client, midas_server, tmp_path):
    for name in ('a.raw', 'b.raw', 'c.txt'):
        (tmp_path / name).write_bytes(name.encode())
    client.upload(str(tmp_path / '*.raw'))
    assert bitstream_names(midas_server) == ['a.raw', 'b.raw']


def test_a_tree_1200_levels_deep(client, midas_server, tmp_path):
    depth = 1200
    path = str(tmp_path / 'deep')
    levels = [path]
    os.mkdir(path)
    for _ in range(depth - 1):  # os.makedirs recurses once per level
        path = os.path.join(path, 'd')
        os.mkdir(path)
        levels.append(path)
    content = os.urandom(1000)
    with open(os.path.join(path, 'bottom.bin'), 'wb') as stream:
        stream.write(content)
    down = str(tmp_path / 'down' / 'deep') + path[len(levels[0]):]
    try:
        result = client.upload(levels[0])
        downloaded = client.download('/users/Ada_Lovelace/Private/deep', str(tmp_path / 'down'))
        with open(os.path.join(down, 'bottom.bin'), 'rb') as stream:
            assert stream.read() == content
    finally:
        for top in (levels[0], str(tmp_path / 'down' / 'deep')):
            _remove_deep(top, depth)
    assert result.transferred == [os.path.join(path, 'bottom.bin')]
    assert downloaded.transferred == [os.path.join(down, 'bottom.bin')]
    assert len(midas_server.query("SELECT 1 FROM folder WHERE name = 'd'")) == depth - 1
    assert hashlib.md5(stored(midas_server, 'bottom.bin')).hexdigest() == \
        hashlib.md5(content).hexdigest()


def _remove_deep(top, depth):
    """Remove a chain of ``depth`` directories ``top/d/d/...`` and the file at its bottom
    (shutil.rmtree may recurse once per level)."""
    levels = [top] + [top + '/d' * count for count in range(1, depth)]
    bottom = os.path.join(levels[-1], 'bottom.bin')
    if os.path.exists(bottom):
        os.remove(bottom)
    for level in reversed(levels):
        if os.path.isdir(level):
            os.rmdir(level)


def test_an_unreadable_directory_fails_alone(client, midas_server, tmp_path, monkeypatch):
    root = tmp_path / 'tree'
    (root / 'locked').mkdir(parents=True)
    (root / 'locked' / 'inside.txt').write_bytes(b'unreachable')
    (root / 'open').mkdir()
    (root / 'open' / 'fine.txt').write_bytes(b'fine')
    (root / 'top.txt').write_bytes(b'top')
    locked = str(root / 'locked')
    os.chmod(locked, 0)
    if os.geteuid() == 0:  # root reads any directory: refuse the listing as the kernel would
        listdir = os.listdir

        def refusing_listdir(path='.'):
            if os.fspath(path) == locked:
                raise PermissionError(13, 'Permission denied', locked)
            return listdir(path)
        monkeypatch.setattr(os, 'listdir', refusing_listdir)
    try:
        with pytest.raises(TransferError) as exc_info:
            client.upload(str(root))
    finally:
        os.chmod(locked, 0o700)
    result = exc_info.value.result
    assert [(failure.path, type(failure.reason)) for failure in result.failed] == [
        (locked, PermissionError)]
    assert locked in str(exc_info.value)
    assert stored(midas_server, 'fine.txt') == b'fine'
    assert stored(midas_server, 'top.txt') == b'top'
    assert stored(midas_server, 'inside.txt') is None


def test_a_name_that_is_not_utf8_is_skipped(client, midas_server, tmp_path):
    root = tmp_path / 'names'
    root.mkdir()
    (root / 'good.txt').write_bytes(b'good')
    bad = os.path.join(os.fsencode(str(root)), b'bad\xff.txt')
    with open(bad, 'wb') as stream:
        stream.write(b'bad')
    result = client.upload(str(root))
    assert [skipped.path for skipped in result.skipped] == [os.fsdecode(bad)]
    assert 'not valid UTF-8' in result.skipped[0].reason
    assert stored(midas_server, 'good.txt') == b'good'
    assert bitstream_names(midas_server) == ['good.txt']


def test_symbolic_links_are_still_skipped(client, midas_server, tmp_path):
    root = tmp_path / 'links'
    root.mkdir()
    (root / 'real.txt').write_bytes(b'real')
    os.symlink(str(root / 'real.txt'), str(root / 'link.txt'))
    result = client.upload(str(root))
    assert [(s.path, s.reason) for s in result.skipped] == [
        (str(root / 'link.txt'), 'symbolic link')]
    assert bitstream_names(midas_server) == ['real.txt']
