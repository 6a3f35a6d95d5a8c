"""Every CoreDriver method against the embedded server: result, server state, wire."""

import hashlib
import io

import pytest

from pydas import exceptions
from pydas.wire import UnknownOptionWarning

from .helpers import last_call, sent


def home_folders(comm, token):
    return {folder['name']: folder for folder in comm.list_user_folders(token)}


@pytest.fixture
def private_id(comm, token):
    return home_folders(comm, token)['Private']['folder_id']


def upload(comm, token, item_id, name, content):
    upload_token = comm.generate_upload_token(token, item_id, name)
    return comm.perform_upload(upload_token, name, filepath=io.BytesIO(content), item_id=item_id)


def test_server_version_info_and_modules(server, comm):
    assert comm.get_server_version() == '3.4.2'
    assert sent(server, 'midas.version') == {}
    info = comm.get_server_info()
    assert info['version'] == '3.4.2' and 'modules' in info and 'resources' in info
    assert sent(server, 'midas.info') == {}
    assert 'tracker' in comm.list_modules()
    assert sent(server, 'midas.modules.list') == {}


def test_login_and_default_api_key(server, comm):
    api_key = comm.get_default_api_key(server.admin_email, server.admin_password)
    assert api_key == server.admin_api_key
    assert sent(server, 'midas.user.apikey.default') == {
        'email': server.admin_email, 'password': server.admin_password}
    token = comm.login_with_api_key(server.admin_email, api_key, application='Default')
    assert len(token) == 32
    assert sent(server, 'midas.login') == {
        'email': server.admin_email, 'apikey': api_key, 'appname': 'Default'}


def test_list_user_folders(server, comm, token):
    folders = home_folders(comm, token)
    assert set(folders) == {'Private', 'Public'}
    assert sent(server, 'midas.user.folders') == {'token': token}


def test_users(server, comm, ada):
    users = comm.list_users()
    assert 'ada@example.org' in [user['email'] for user in users]
    assert sent(server, 'midas.user.list') == {'limit': '20'}
    comm.list_users(limit=5)
    assert sent(server, 'midas.user.list') == {'limit': '5'}
    assert comm.get_user_by_name('Ada', 'Lovelace')['email'] == 'ada@example.org'
    assert sent(server, 'midas.user.get') == {'firstname': 'Ada', 'lastname': 'Lovelace'}
    assert comm.get_user_by_id(ada['user_id'])['email'] == 'ada@example.org'
    assert sent(server, 'midas.user.get') == {'user_id': str(ada['user_id'])}
    assert comm.get_user_by_email('ada@example.org')['firstname'] == 'Ada'
    assert sent(server, 'midas.user.get') == {'email': 'ada@example.org'}


def test_communities(server, comm, token):
    community = comm.create_community(token, 'Comm', description='d', uuid='u1',
                                      privacy='Private', can_join='Invitation')
    assert sent(server, 'midas.community.create') == {
        'canjoin': 'Invitation', 'description': 'd', 'name': 'Comm', 'privacy': 'Private',
        'token': token, 'uuid': 'u1'}
    community_id = community['community_id']
    assert server.query('SELECT name FROM community WHERE community_id = ?',
                        int(community_id))[0]['name'] == 'Comm'
    with pytest.raises(exceptions.InvalidPolicy):  # private: invisible without a token
        comm.get_community_by_name('Comm')
    assert sent(server, 'midas.community.get') == {'name': 'Comm'}
    assert comm.get_community_by_name('Comm', token=token)['community_id'] == community_id
    assert sent(server, 'midas.community.get') == {'name': 'Comm', 'token': token}
    assert comm.get_community_by_id(community_id, token)['name'] == 'Comm'
    assert sent(server, 'midas.community.get') == {'id': community_id, 'token': token}
    children = comm.get_community_children(community_id, token)
    assert 'folders' in children
    assert sent(server, 'midas.community.children') == {'id': community_id, 'token': token}
    assert 'Comm' in [c['name'] for c in comm.list_communities(token)]
    assert sent(server, 'midas.community.list') == {'token': token}
    comm.list_communities()
    assert sent(server, 'midas.community.list') == {}


def test_folders(server, comm, token, private_id):
    folder = comm.create_folder(token, 'F', private_id)
    assert sent(server, 'midas.folder.create') == {
        'description': '', 'name': 'F', 'parentid': private_id, 'token': token}
    again = comm.create_folder(token, 'F', private_id, description='d', uuid='u2',
                               privacy='Public', reuse_existing=True)
    assert again['folder_id'] == folder['folder_id']
    assert sent(server, 'midas.folder.create') == {
        'description': 'd', 'name': 'F', 'parentid': private_id, 'privacy': 'Public',
        'reuseExisting': 'True', 'token': token, 'uuid': 'u2'}
    folder_id = folder['folder_id']
    assert comm.folder_get(token, folder_id)['name'] == 'F'
    assert sent(server, 'midas.folder.get') == {'id': folder_id, 'token': token}
    children = comm.folder_children(token, private_id)
    assert [f['name'] for f in children['folders']] == ['F'] and children['items'] == []
    assert sent(server, 'midas.folder.children') == {'id': private_id, 'token': token}
    other = comm.create_folder(token, 'G', private_id)['folder_id']
    moved = comm.move_folder(token, folder_id, other)
    assert moved['parent_id'] == other
    assert sent(server, 'midas.folder.move') == {
        'dstfolderid': other, 'id': folder_id, 'token': token}
    assert comm.delete_folder(token, folder_id) is None
    assert sent(server, 'midas.folder.delete') == {'id': folder_id, 'token': token}
    assert not server.query('SELECT * FROM folder WHERE folder_id = ?', int(folder_id))


def test_reuse_existing_false_is_not_sent(server, comm, token, private_id):
    comm.create_folder(token, 'F', private_id, reuse_existing=False)
    assert 'reuseExisting' not in sent(server, 'midas.folder.create')


def test_unknown_option_is_ignored_with_a_warning(server, comm, token, private_id):
    # The original ignored unknown options; old scripts must still run.
    with pytest.warns(UnknownOptionWarning, match='reuse_exisitng'):
        comm.create_folder(token, 'F', private_id, reuse_exisitng=True)
    assert 'reuse_exisitng' not in sent(server, 'midas.folder.create')
    assert 'reuseExisting' not in sent(server, 'midas.folder.create')


def test_items_and_metadata(server, comm, token, private_id):
    item = comm.create_item(token, 'I', private_id, description='d', uuid='u3',
                            privacy='Private')
    assert sent(server, 'midas.item.create') == {
        'description': 'd', 'name': 'I', 'parentid': private_id, 'privacy': 'Private',
        'token': token, 'uuid': 'u3'}
    item_id = item['item_id']
    assert comm.item_get(token, item_id)['name'] == 'I'
    assert sent(server, 'midas.item.get') == {'id': item_id, 'token': token}
    upload(comm, token, item_id, 'a.txt', b'hello')
    assert comm.set_item_metadata(token, item_id, 'el', 'val', qualifier='q') is None
    assert sent(server, 'midas.item.setmetadata') == {
        'element': 'el', 'itemId': item_id, 'qualifier': 'q', 'token': token, 'value': 'val'}
    metadata = comm.get_item_metadata(item_id, token, revision=1)
    assert [(m['element'], m['qualifier'], m['value']) for m in metadata] == [('el', 'q', 'val')]
    assert sent(server, 'midas.item.getmetadata') == {'id': item_id, 'revision': '1',
                                                      'token': token}
    assert comm.delete_item(token, item_id) is None
    assert sent(server, 'midas.item.delete') == {'id': item_id, 'token': token}
    assert not server.query('SELECT * FROM item WHERE item_id = ?', int(item_id))


def test_share_and_move_item(server, comm, token, private_id):
    public_id = home_folders(comm, token)['Public']['folder_id']
    item_id = comm.create_item(token, 'I', private_id)['item_id']
    comm.share_item(token, item_id, public_id)
    assert sent(server, 'midas.item.share') == {
        'dstfolderid': public_id, 'id': item_id, 'token': token}
    assert [i['item_id'] for i in comm.folder_children(token, public_id)['items']] == [item_id]
    other = comm.create_folder(token, 'Other', private_id)['folder_id']
    comm.move_item(token, item_id, private_id, other)
    assert sent(server, 'midas.item.move') == {
        'dstfolderid': other, 'id': item_id, 'srcfolderid': private_id, 'token': token}
    assert [i['item_id'] for i in comm.folder_children(token, other)['items']] == [item_id]
    assert comm.folder_children(token, private_id)['items'] == []


def test_searches(server, comm, token, private_id):
    item_id = comm.create_item(token, 'needle', private_id)['item_id']
    found = comm.search_item_by_name('needle', token)
    assert [i['item_id'] for i in found] == [item_id]
    assert sent(server, 'midas.item.searchbyname') == {'name': 'needle', 'token': token}
    found = comm.search_item_by_name_and_folder('needle', private_id, token)
    assert [i['item_id'] for i in found] == [item_id]
    assert sent(server, 'midas.item.searchbynameandfolder') == {
        'folderId': private_id, 'name': 'needle', 'token': token}
    found = comm.search_item_by_name_and_folder_name('needle', 'Private', token)
    assert [i['item_id'] for i in found] == [item_id]
    assert sent(server, 'midas.item.searchbynameandfoldername') == {
        'folderName': 'Private', 'name': 'needle', 'token': token}
    result = comm.search('needle', token)
    assert [r['item_id'] for r in result['results'] if r['resultType'] == 'item'] == [item_id]
    assert sent(server, 'midas.resource.search') == {'search': 'needle', 'token': token}


def test_create_link(server, comm, token, private_id):
    item = comm.create_link(token, private_id, 'http://example.org/x', item_name='L',
                            length=10, checksum='abc')
    assert sent(server, 'midas.link.create') == {
        'checksum': 'abc', 'folderid': private_id, 'itemname': 'L', 'length': '10',
        'token': token, 'url': 'http://example.org/x'}
    assert item['name'] == 'L'


def test_upload_and_download(server, comm, token, private_id, tmp_path):
    item_id = comm.create_item(token, 'I', private_id)['item_id']
    content = b'Hello Midas!\n' * 100
    path = tmp_path / 'f.txt'
    path.write_bytes(content)
    upload_token = comm.generate_upload_token(token, item_id, 'f.txt')
    assert sent(server, 'midas.upload.generatetoken') == {
        'filename': 'f.txt', 'itemid': item_id, 'token': token}
    item = comm.perform_upload(upload_token, 'f.txt', filepath=str(path), item_id=item_id)
    assert item['item_id'] == item_id
    call = last_call(server, 'midas.upload.perform')
    assert call.verb == 'PUT' and call.form == {}
    assert call.query == {'method': 'midas.upload.perform', 'filename': 'f.txt',
                          'itemid': item_id, 'length': str(len(content)),
                          'revision': 'head', 'uploadtoken': upload_token}
    md5 = hashlib.md5(content).hexdigest()
    with open(server.assetstore_file(md5), 'rb') as stored:
        assert stored.read() == content
    # the server already has this content: no upload token, the bitstream is added
    assert comm.generate_upload_token(token, item_id, 'copy.txt', checksum=md5) == ''
    assert sent(server, 'midas.upload.generatetoken')['checksum'] == md5
    filename, chunks = comm.download_item(item_id, token)
    assert filename.endswith('.zip')  # two bitstreams now
    b''.join(chunks)
    single = comm.create_item(token, 'S', private_id)['item_id']
    upload(comm, token, single, 'hello.txt', content)
    filename, chunks = comm.download_item(single, token, revision=1)
    assert (filename, b''.join(chunks)) == ('hello.txt', content)
    assert sent(server, 'midas.item.download') == {'id': single, 'revision': '1',
                                                   'token': token}


def test_download_item_return_item(comm, token, private_id):
    item_id = comm.create_item(token, 'S', private_id)['item_id']
    upload(comm, token, item_id, 'x.bin', b'xyz')
    filename, chunks, item = comm.download_item(item_id, token, return_item=True)
    assert (filename, b''.join(chunks), item['item_id']) == ('x.bin', b'xyz', item_id)


def test_perform_upload_with_folder_id_and_mode(server, comm, token, private_id):
    item_id = comm.create_item(token, 'I', private_id)['item_id']
    upload(comm, token, item_id, 'first.txt', b'1')
    upload_token = comm.generate_upload_token(token, item_id, 'f.txt')
    comm.perform_upload(upload_token, 'f.txt', filepath=io.BytesIO(b'abc'), mode='stream',
                        folder_id=private_id, revision=1)
    query = last_call(server, 'midas.upload.perform').query
    assert query['folderid'] == private_id and query['mode'] == 'stream'
    assert query['revision'] == '1'


def test_create_additional_revision(server, comm, token, private_id):
    item_id = comm.create_item(token, 'I', private_id)['item_id']
    upload(comm, token, item_id, 'a', b'1')
    upload_token = comm.generate_upload_token(token, item_id, 'b')
    comm.perform_upload(upload_token, 'b', filepath=io.BytesIO(b'2'),
                        create_additional_revision=True)
    assert 'revision' not in last_call(server, 'midas.upload.perform').query
    assert len(comm.item_get(token, item_id)['revisions']) == 2


def test_upload_offset_and_bitstream(server, comm, token, private_id):
    item_id = comm.create_item(token, 'I', private_id)['item_id']
    upload_token = comm.generate_upload_token(token, item_id, 'f.bin')
    assert comm.get_upload_offset(upload_token) == 0
    assert sent(server, 'midas.upload.getoffset') == {'uploadtoken': upload_token}
    comm.perform_upload(upload_token, 'f.bin', filepath=io.BytesIO(b'0123456789'))
    assert comm.get_upload_offset(upload_token) == 0  # consumed token: "" on the wire
    bitstream = comm.item_get(token, item_id)['revisions'][-1]['bitstreams'][0]
    info = comm.bitstream_get(token, bitstream['bitstream_id'])
    assert (info['name'], info['size']) == ('f.bin', '10')
    assert sent(server, 'midas.bitstream.get') == {'id': bitstream['bitstream_id'],
                                                   'token': token}
    filename, chunks = comm.download_bitstream(bitstream['bitstream_id'], token, offset=4)
    assert (filename, b''.join(chunks)) == ('f.bin', b'456789')
    assert sent(server, 'midas.bitstream.download') == {
        'id': bitstream['bitstream_id'], 'offset': '4', 'token': token}
    filename, chunks = comm.download_bitstream(bitstream['bitstream_id'], token)
    assert b''.join(chunks) == b'0123456789'
