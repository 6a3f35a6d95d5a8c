"""Re-runs over unchanged trees take checksums from the local cache: nothing is read."""

import os

import pytest

from pydas import checksumcache, checksums, partials

from .helpers import read_tree, write_tree

FILES = {'tree/a.bin': os.urandom(300 * 1024), 'tree/sub/b.txt': b'notes'}


@pytest.fixture
def reads(monkeypatch):
    """Count the files hashed by reading them, whichever way."""
    counted = []
    monkeypatch.setattr(checksumcache, 'RACY_NS', 0)
    md5_state = checksums.md5_state
    holds = partials.TargetDirectory.holds

    def counting_md5_state(path):
        counted.append(path)
        return md5_state(path)

    def counting_holds(self, name, size, checksum):
        counted.append(name)
        return holds(self, name, size, checksum)

    monkeypatch.setattr(checksumcache, 'md5_state', counting_md5_state)
    monkeypatch.setattr(partials.TargetDirectory, 'holds', counting_holds)
    return counted


def test_an_upload_rerun_over_an_unchanged_tree_reads_no_file(client, tmp_path, reads):
    write_tree(str(tmp_path), FILES)
    client.upload(str(tmp_path / 'tree'), reuse_existing=True)
    assert len(reads) == 2
    del reads[:]

    result = client.upload(str(tmp_path / 'tree'), reuse_existing=True)

    assert sorted(result.unchanged) == sorted(str(tmp_path / name) for name in FILES)
    assert reads == []


def test_a_download_rerun_over_a_verified_copy_reads_no_file(client, tmp_path, reads):
    write_tree(str(tmp_path / 'up'), FILES)
    client.upload(str(tmp_path / 'up' / 'tree'))
    client.allow_existing_download_paths = True
    client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'))
    del reads[:]

    result = client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'))

    assert len(result.unchanged) == 2 and not result.transferred
    assert reads == []
    assert read_tree(str(tmp_path / 'down')) == FILES


def test_a_file_changed_since_it_was_cached_is_read_again(client, tmp_path, reads):
    write_tree(str(tmp_path), FILES)
    client.upload(str(tmp_path / 'tree'), reuse_existing=True)
    write_tree(str(tmp_path), {'tree/sub/b.txt': b'other notes'})
    del reads[:]

    result = client.upload(str(tmp_path / 'tree'), reuse_existing=True)

    assert result.transferred == [str(tmp_path / 'tree' / 'sub' / 'b.txt')]
    assert reads == [str(tmp_path / 'tree' / 'sub' / 'b.txt')]
