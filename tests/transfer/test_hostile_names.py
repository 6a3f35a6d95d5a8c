"""Server-supplied names can never write outside the download's target directory."""

import os

import pytest

from pydas.localpaths import MAX_NAME_BYTES, safe_name, unique_names

from .helpers import read_tree

HOSTILE = [
    '..', '.', '...', '../escape', '../../../../../../tmp/pydas-escape', '/absolute',
    'C:\\Windows\\evil', 'C:drive', 'D:', 'sub\\..\\..\\up', 'nul', 'CON.txt', 'com1',
    'Lpt9.log', 'a\x00b', 'tab\there', '\x1b[31mred', ' ', 'é' * 200,
    'x' * 300 + '.txt', '.pydas-1-abc.part', 'dir/sub', 'a_b', 'a/b', 'A_B',
]

# Bitstream names travel in HTTP headers (Location, Content-Disposition), where a
# line break cannot go: Midas cannot serve such a bitstream, so only folders get them.
FOLDER_ONLY = ['line\nbreak', 'carriage\rreturn']


def put_file(client, parent_id, item_name, bitstream_names, tmp_path):
    """Create an item holding one bitstream per name, through raw API calls."""
    communicator, token = client.communicator, client.token
    item = communicator.create_item(token, item_name, parent_id)
    for index, name in enumerate(bitstream_names):
        local = tmp_path / 'payload'
        local.write_bytes(u'{0}:{1!r}'.format(index, name).encode('utf-8'))
        upload_token = communicator.generate_upload_token(token, item['item_id'], name)
        communicator.perform_upload(upload_token, name, filepath=str(local),
                                    itemid=item['item_id'])
    return item


@pytest.fixture
def hostile_folder(client, ada, tmp_path):
    """A folder 'hostile' in Ada's Private folder full of hostile names."""
    communicator, token = client.communicator, client.token
    private = [folder for folder in communicator.list_user_folders(token)
               if folder['name'] == 'Private'][0]
    root = communicator.create_folder(token, 'hostile', private['folder_id'])
    expected_files = 0
    for name in HOSTILE:
        put_file(client, root['folder_id'], name, [name], tmp_path)
        folder = communicator.create_folder(token, name, root['folder_id'])
        put_file(client, folder['folder_id'], name, [name, 'other'], tmp_path)
        expected_files += 3
    for name in FOLDER_ONLY:
        folder = communicator.create_folder(token, name, root['folder_id'])
        put_file(client, folder['folder_id'], 'inside', ['inside'], tmp_path)
        expected_files += 1
    put_file(client, root['folder_id'], 'multi', HOSTILE, tmp_path)
    return expected_files + len(HOSTILE)


def test_nothing_is_written_outside_the_target(client, hostile_folder, tmp_path):
    sandbox = tmp_path / 'sandbox'
    target = sandbox / 'target'
    target.mkdir(parents=True)

    client.download('/users/Ada_Lovelace/Private/hostile', str(target))

    assert os.listdir(str(sandbox)) == ['target']
    assert not os.path.exists('/tmp/pydas-escape') and not os.path.exists('/absolute')
    files = read_tree(str(target))
    assert len(files) == hostile_folder
    for directory, folders, names in os.walk(str(target)):
        for name in folders + names:
            assert name == safe_name(name)
            assert len(name.encode('utf-8')) <= MAX_NAME_BYTES
            assert not name.startswith('.pydas-')
    multi = read_tree(str(target / 'hostile' / 'multi'))
    assert sorted(multi.values()) == sorted(
        u'{0}:{1!r}'.format(index, name).encode('utf-8') for index, name in enumerate(HOSTILE))


def test_mapping_is_deterministic(client, hostile_folder, tmp_path):
    client.download('/users/Ada_Lovelace/Private/hostile', str(tmp_path / 'one'))
    client.download('/users/Ada_Lovelace/Private/hostile', str(tmp_path / 'two'))
    assert read_tree(str(tmp_path / 'one')) == read_tree(str(tmp_path / 'two'))


@pytest.mark.parametrize('name', HOSTILE + FOLDER_ONLY + [
    '', None, 'CONIN$', 'aux.tar.gz', 'nul '])
def test_safe_name_is_one_harmless_component(name):
    mapped = safe_name(name)
    assert mapped and mapped not in ('.', '..')
    assert not set(mapped) & set('/\\:\x00\n\r\t\x1b')
    assert os.path.basename(mapped) == mapped
    assert len(mapped.encode('utf-8')) <= MAX_NAME_BYTES
    assert mapped.split('.')[0].rstrip(' ').upper() not in ('CON', 'NUL', 'COM1', 'AUX',
                                                            'LPT9', 'CONIN$')
    assert safe_name(name) == mapped


def test_ordinary_names_are_kept():
    for name in ('scan.nrrd', 'naïve café', '日本語.txt', 'a b (1).tar.gz', '.hidden'):
        assert safe_name(name) == name


def test_long_names_keep_extension_and_stay_distinct():
    first, second = safe_name('x' * 300 + '1.dcm'), safe_name('x' * 300 + '2.dcm')
    assert first != second and first.endswith('.dcm') and second.endswith('.dcm')
    assert safe_name('x' * 300 + '1.dcm') == first


def test_colliding_siblings_get_numbers_whatever_the_listing_order():
    entries = [(('item', 1), 'a/b'), (('item', 2), 'a_b'), (('folder', 3), 'a\\b')]
    mapped = unique_names(entries)
    assert mapped == unique_names(list(reversed(entries)))
    assert sorted(mapped.values()) == ['a_b', 'a_b (1)', 'a_b (2)']
