"""Uploads and downloads of whole trees, checked on the server and on disk."""

import hashlib
import logging
import os

import pytest

from pydas.exceptions import ServerPathNotFound
from pydas.transfer import Progress

from midas_calls import calls_of

from .helpers import bitstream_gets, read_tree, write_tree

BIG = os.urandom(256 * 1024) * 48  # 12 MiB

TREE = {
    'a.txt': b'alpha\n',
    'empty.bin': b'',
    'nested/deeper/deepest/z.dat': b'z' * 70000,
    'nested/b.txt': b'bravo',
    'nested/empty-folder': None,
    'naïve café/日本語.txt': 'ünïcödé ✓'.encode('utf-8'),
    'big/large.raw': BIG,
}


def server_items(server):
    """Item name -> list of (bitstream name, checksum) of the HEAD revisions."""
    rows = server.query(
        'SELECT item.name AS item, bitstream.name AS name, bitstream.checksum AS checksum '
        'FROM bitstream JOIN itemrevision USING (itemrevision_id) '
        'JOIN item ON item.item_id = itemrevision.item_id ORDER BY bitstream.name')
    items = {}
    for row in rows:
        items.setdefault(row['item'], []).append((row['name'], row['checksum']))
    return items


def test_tree_round_trip(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up' / 'tree'), TREE)
    result = client.upload(str(tmp_path / 'up' / 'tree'), jobs=4)

    items = server_items(midas_server)
    assert items['large.raw'] == [('large.raw', hashlib.md5(BIG).hexdigest())]
    unicode_md5 = hashlib.md5(TREE['naïve café/日本語.txt']).hexdigest()
    assert items['日本語.txt'] == [('日本語.txt', unicode_md5)]
    with open(midas_server.assetstore_file(hashlib.md5(BIG).hexdigest()), 'rb') as stored:
        assert stored.read() == BIG
    folders = {row['name'] for row in midas_server.query('SELECT name FROM folder')}
    assert {'tree', 'nested', 'deeper', 'deepest', 'empty-folder', 'naïve café',
            'big'} <= folders
    assert len(result.transferred) + len(result.unchanged) == 6
    assert len(result.items) == 6

    client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'))
    assert read_tree(str(tmp_path / 'down' / 'tree')) == TREE


def test_leaf_folders_as_items_round_trip(midas_server, client, tmp_path):
    tree = {'series/one/1.dcm': b'1' * 1000, 'series/one/2.dcm': b'2' * 2000,
            'series/one/3.dcm': b'', 'series/two/only.dcm': b'only',
            'series/notes.txt': b'notes', 'series/empty': None}
    write_tree(str(tmp_path / 'up'), tree)
    client.upload(str(tmp_path / 'up' / 'series'), leaf_folders_as_items=True)

    items = server_items(midas_server)
    assert [name for name, _ in items['one']] == ['1.dcm', '2.dcm', '3.dcm']
    assert [name for name, _ in items['two']] == ['only.dcm']
    assert items['notes.txt'] == [('notes.txt', hashlib.md5(b'notes').hexdigest())]
    assert not midas_server.query("SELECT * FROM folder WHERE name IN ('one', 'two')")

    client.download('/users/Ada_Lovelace/Private/series', str(tmp_path / 'down'))
    assert read_tree(str(tmp_path / 'down')) == read_tree(str(tmp_path / 'up'))


def test_reuse_existing_twice_sends_nothing_again(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'tree'), {'x.txt': b'x', 'sub/y.txt': b'y', 'sub/z.txt': b'z'})
    client.upload(str(tmp_path / 'tree'), reuse_existing=True)
    counts = [len(midas_server.query('SELECT * FROM ' + table))
              for table in ('folder', 'item', 'bitstream')]
    midas_server.clear_calls()

    result = client.upload(str(tmp_path / 'tree'), reuse_existing=True)

    assert [len(midas_server.query('SELECT * FROM ' + table))
            for table in ('folder', 'item', 'bitstream')] == counts
    assert not calls_of(midas_server, 'midas.upload.perform')
    assert not calls_of(midas_server, 'midas.item.create')
    assert len(result.unchanged) == 3 and not result.transferred


def test_known_content_is_not_sent(midas_server, client, tmp_path):
    write_tree(str(tmp_path), {'first.bin': b'same bytes' * 1000,
                               'copy/second.bin': b'same bytes' * 1000})
    client.upload(str(tmp_path / 'first.bin'))
    midas_server.clear_calls()

    result = client.upload(str(tmp_path / 'copy' / 'second.bin'), destination='Public')

    assert not calls_of(midas_server, 'midas.upload.perform')
    generated = calls_of(midas_server, 'midas.upload.generatetoken')
    assert [call.form.get('checksum') for call in generated] == [
        hashlib.md5(b'same bytes' * 1000).hexdigest()]
    assert result.unchanged == [str(tmp_path / 'copy' / 'second.bin')]
    assert sorted(server_items(midas_server)) == ['first.bin', 'second.bin']


def test_upload_to_server_paths(midas_server, client, ada, tmp_path):
    midas_server.add_community('Lab', owner=ada['email'])
    write_tree(str(tmp_path), {'r.txt': b'r'})
    client.upload(str(tmp_path / 'r.txt'), destination='/users/Ada_Lovelace/Public')
    client.upload(str(tmp_path / 'r.txt'), destination='/communities/Lab/Public/')
    rows = midas_server.query(
        'SELECT folder.name AS folder FROM item JOIN item2folder USING (item_id) '
        'JOIN folder USING (folder_id) WHERE item.name = ?', 'r.txt')
    assert sorted(row['folder'] for row in rows) == ['Public', 'Public']


@pytest.mark.parametrize('destination', [
    'Nowhere', '/users/Ada_Lovelace/Missing', '/users/No_Body/Public',
    '/communities/Ghost/Public', 'users/Ada_Lovelace/Public'])
def test_unknown_destination_is_an_error(midas_server, client, tmp_path, destination):
    write_tree(str(tmp_path), {'r.txt': b'r'})
    items_before = len(midas_server.query('SELECT * FROM item'))
    with pytest.raises(ServerPathNotFound):
        client.upload(str(tmp_path / 'r.txt'), destination=destination)
    assert len(midas_server.query('SELECT * FROM item')) == items_before


def test_symbolic_links_are_skipped_and_reported(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'tree'), {'real.txt': b'real', 'sub/inner.txt': b'inner'})
    outside = tmp_path / 'outside.txt'
    outside.write_bytes(b'secret')
    os.symlink(str(outside), str(tmp_path / 'tree' / 'link.txt'))
    os.symlink(str(tmp_path / 'tree' / 'sub'), str(tmp_path / 'tree' / 'linked-dir'))

    result = client.upload(str(tmp_path / 'tree'))

    assert sorted(os.path.basename(skipped.path) for skipped in result.skipped) == [
        'link.txt', 'linked-dir']
    names = {row['name'] for row in midas_server.query('SELECT name FROM item')}
    assert names == {'real.txt', 'inner.txt'}
    assert midas_server.assetstore_file(hashlib.md5(b'secret').hexdigest()) is None


def test_callbacks_get_their_arguments(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up' / 'tree'), {'a.txt': b'a', 'sub/b.txt': b'b'})
    uploaded, items, folders = [], [], []
    client.add_item_upload_callback(
        lambda communicator, token, item_id: uploaded.append((communicator, token, item_id)))
    client.upload(str(tmp_path / 'up' / 'tree'))

    ids = {row['item_id'] for row in midas_server.query('SELECT item_id FROM item')}
    assert sorted(str(item_id) for _, _, item_id in uploaded) == sorted(str(i) for i in ids)
    assert all(communicator is client.communicator and token == client.token
               for communicator, token, _ in uploaded)

    records = []
    client.add_item_download_callback(
        lambda communicator, token, item, path: (items.append((item['name'], path)),
                                                 records.append(item)))
    client.add_folder_download_callback(
        lambda communicator, token, folder, path: folders.append((folder['name'], path)))
    down = str(tmp_path / 'down')
    client.download('/users/Ada_Lovelace/Private/tree', down)

    assert sorted(items) == [('a.txt', os.path.join(down, 'tree', 'a.txt')),
                             ('b.txt', os.path.join(down, 'tree', 'sub', 'b.txt'))]
    assert folders == [('sub', os.path.join(down, 'tree', 'sub')),
                       ('tree', os.path.join(down, 'tree'))]
    # The item callbacks get the whole record midas.item.get gave, revisions included.
    assert all(record['revisions'][-1]['bitstreams'][0]['checksum'] and 'uuid' in record
               for record in records)


def test_download_skips_identical_and_replaces_different(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up' / 'tree'), {'same.txt': b'same', 'changed.txt': b'server'})
    client.upload(str(tmp_path / 'up' / 'tree'))
    down = str(tmp_path / 'down')
    client.download('/users/Ada_Lovelace/Private/tree', down)
    with open(os.path.join(down, 'tree', 'changed.txt'), 'wb') as stream:
        stream.write(b'local edit')

    with pytest.raises(FileExistsError):
        client.download('/users/Ada_Lovelace/Private/tree', down)
    client.allow_existing_download_paths = True
    midas_server.clear_calls()
    result = client.download('/users/Ada_Lovelace/Private/tree', down)

    assert read_tree(os.path.join(down, 'tree')) == {'same.txt': b'same',
                                                     'changed.txt': b'server'}
    assert result.unchanged == [os.path.join(down, 'tree', 'same.txt')]
    assert len(bitstream_gets(midas_server)) == 1
    assert calls_of(midas_server, 'midas.bitstream.download') == []


def test_download_single_item_and_progress(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up'), {'one.bin': b'1' * 300000, 'multi/a': b'a', 'multi/b': b'bb'})
    client.upload(str(tmp_path / 'up' / 'one.bin'))
    client.upload(str(tmp_path / 'up' / 'multi'), leaf_folders_as_items=True)
    reports = []

    client.download('/users/Ada_Lovelace/Private/one.bin', str(tmp_path / 'down'),
                    progress=reports.append, jobs=2)
    client.download('/users/Ada_Lovelace/Private/multi', str(tmp_path / 'down'))

    assert read_tree(str(tmp_path / 'down')) == read_tree(str(tmp_path / 'up'))
    assert all(isinstance(report, Progress) for report in reports)
    assert reports[-1][:4] == (300000, 300000, 1, 1)
    done = [report.bytes_done for report in reports]
    assert done == sorted(done)


def test_upload_progress_reaches_the_totals(client, tmp_path):
    write_tree(str(tmp_path / 'tree'), {'a': b'a' * 5000, 'b/c': b'c' * 7000, 'b/d': b''})
    reports = []
    client.upload(str(tmp_path / 'tree'), progress=reports.append, jobs=3)
    assert reports[-1][:4] == (12000, 12000, 3, 3)
    assert [report.files_done for report in reports] == sorted(
        report.files_done for report in reports)


def test_files_of_a_new_folder_take_one_call_to_create_their_items(midas_server, client,
                                                                   tmp_path):
    same = b'already there' * 100
    write_tree(str(tmp_path), {'first.bin': same,
                               'tree/new.bin': b'new', 'tree/copy.bin': same})
    client.upload(str(tmp_path / 'first.bin'))
    uploaded = []
    client.add_item_upload_callback(lambda comm, token, item_id: uploaded.append(item_id))
    midas_server.clear_calls()

    result = client.upload(str(tmp_path / 'tree'))

    # generatetoken with the folder creates each item: no item.create.
    assert not calls_of(midas_server, 'midas.item.create')
    generated = calls_of(midas_server, 'midas.upload.generatetoken')
    assert len(generated) == 2 and all('folderid' in call.form for call in generated)
    assert len(calls_of(midas_server, 'midas.upload.perform')) == 1
    assert result.unchanged == [str(tmp_path / 'tree' / 'copy.bin')]
    rows = midas_server.query(
        'SELECT item.item_id, item.name, bitstream.checksum FROM item JOIN itemrevision '
        'USING (item_id) JOIN bitstream USING (itemrevision_id) WHERE item.name != ?',
        'first.bin')
    by_name = {row['name']: (str(row['item_id']), row['checksum']) for row in rows}
    assert by_name['copy.bin'][1] == hashlib.md5(same).hexdigest()
    assert by_name['new.bin'][1] == hashlib.md5(b'new').hexdigest()
    # The item ids reported (and given to the callback once each) are the server's.
    assert sorted(item_id for _, item_id in result.items) == sorted(
        item_id for item_id, _ in by_name.values())
    assert sorted(uploaded) == sorted(item_id for item_id, _ in by_name.values())


def test_a_folder_found_by_its_path_is_not_fetched_again(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up'), {'tree/sub/a.txt': b'a', 'tree/b.txt': b'b'})
    client.upload(str(tmp_path / 'up' / 'tree'))
    midas_server.clear_calls()

    client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'))

    # The listing of Private gave the folder's record: no midas.folder.get for it.
    assert not calls_of(midas_server, 'midas.folder.get')
    assert read_tree(str(tmp_path / 'down')) == {'tree/sub/a.txt': b'a', 'tree/b.txt': b'b'}
    # A folder downloaded by id is fetched once, for its name.
    midas_server.clear_calls()
    tree_id = midas_server.query("SELECT folder_id FROM folder WHERE name = 'tree'")[0][
        'folder_id']
    client.download_folder_recursive(tree_id, str(tmp_path / 'by_id'))
    assert len(calls_of(midas_server, 'midas.folder.get')) == 1
    assert read_tree(str(tmp_path / 'by_id')) == read_tree(str(tmp_path / 'down'))
    # Folder callbacks get the folder's record as midas.folder.get gives it, parent included.
    records = []
    client.add_folder_download_callback(lambda comm, token, folder, path: records.append(folder))
    client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'with_callback'))
    assert records[-1]['name'] == 'tree' and 'parent' in records[-1]


def test_many_jobs_keep_their_connections(midas_server, client, tmp_path, caplog):
    """jobs=12 workers at once fit in the connection pool: none is closed and reopened."""
    files = {'many/{0:02d}.bin'.format(number): os.urandom(1000) for number in range(24)}
    write_tree(str(tmp_path / 'up'), files)
    caplog.set_level(logging.WARNING, logger='urllib3')
    # Held by the server, the twelve first requests overlap (the pool holds ten by default).
    midas_server.faults.delay(0.3, count=12, method='midas.upload.perform')
    client.upload(str(tmp_path / 'up' / 'many'), jobs=12)
    midas_server.faults.delay(0.3, count=12, method='download')
    client.download('/users/Ada_Lovelace/Private/many', str(tmp_path / 'down'), jobs=12)

    assert read_tree(str(tmp_path / 'down' / 'many')) == {
        name.split('/')[1]: content for name, content in files.items()}
    assert len(bitstream_gets(midas_server)) == 24
    assert not [record for record in caplog.records if 'pool is full' in record.getMessage()]
