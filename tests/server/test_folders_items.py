"""Folders, items, communities and permissions, over raw HTTP."""

from midas_api import Api


def test_folder_create_reuse_get_children(midas_server):
    api = Api(midas_server)
    token = api.login()
    folder = api.ok('midas.folder.create', token=token, name='apitest', parentid='2',
                    description='test folder')
    assert (folder['folder_id'], folder['parent_id'], folder['privacy_status']) == ('4', '2', '2')
    assert api.fail('midas.folder.create', token=token, name='apitest', parentid='2')[0] == '-150'
    again = api.ok('midas.folder.create', token=token, name='apitest', parentid='2',
                   reuseExisting='')
    assert again['folder_id'] == '4'
    for name in ('b', 'A', 'c'):
        api.ok('midas.folder.create', token=token, name=name, parentid='4')
    got = api.ok('midas.folder.get', token=token, id='4')
    assert got['parent']['name'] == 'Private' and list(got)[-1] == 'parent'
    children = api.ok('midas.folder.children', token=token, id='4')
    assert [f['name'] for f in children['folders']] == ['A', 'b', 'c']
    updated = api.ok('midas.folder.create', token=token, name='renamed', uuid=folder['uuid'])
    assert updated['folder_id'] == '4' and updated['name'] == 'renamed'
    assert api.fail('midas.folder.create', token=token, parentid='2') == (
        '-150', 'Parameter name is not defined')


def test_item_create_renames_on_conflict(midas_server):
    api = Api(midas_server)
    token = api.login()
    first = api.ok('midas.item.create', token=token, parentid='2', name='scan')
    assert (first['name'], first['sizebytes'], first['view']) == ('scan', '', '')
    names = [api.ok('midas.item.create', token=token, parentid='2', name='scan')['name']
             for _ in range(2)]
    assert names == ['scan (1)', 'scan (2)']
    item = api.ok('midas.item.get', token=token, id=first['item_id'])
    assert (item['sizebytes'], item['folder_id'], item['revisions'], item['extraFields']) == (
        '0', '2', [], [])
    assert list(item)[-3:] == ['folder_id', 'revisions', 'extraFields']


def test_anonymous_and_other_users_see_only_public(midas_server):
    api = Api(midas_server)
    admin = api.login()
    ada = midas_server.add_user('ada@example.org', 'pw', 'Ada', 'L')
    ada_token = api.login(ada['email'], ada['api_key'])
    private = api.ok('midas.item.create', token=admin, parentid='2', name='secret')
    public = api.ok('midas.item.create', token=admin, parentid='3', name='open')
    assert public['privacy_status'] == '0'
    no_item = ('-151', "This item doesn't exist or you don't have the permissions.")
    assert api.fail('midas.item.get', id=private['item_id']) == no_item
    assert api.fail('midas.item.get', token=ada_token, id=private['item_id']) == no_item
    assert api.ok('midas.item.get', id=public['item_id'])['name'] == 'open'
    assert api.fail('midas.folder.get', id='2') == (
        '-151', "This folder doesn't exist or you don't have the permissions.")
    assert [i['name'] for i in api.ok('midas.folder.children', id='3')['items']] == ['open']
    assert api.ok('midas.folder.children', id='2') == {'folders': [], 'items': []}
    assert api.fail('midas.item.create', token=ada_token, parentid='3', name='x') == (
        '-151', 'Invalid permissions on parent folder')
    assert api.fail('midas.item.create', parentid='3', name='x') == (
        '-151', 'Cannot create item anonymously')
    assert api.fail('midas.item.delete', id=public['item_id']) == ('-101', 'Unable to find user')
    assert api.fail('midas.item.delete', token=ada_token, id=public['item_id']) == no_item
    assert [f['name'] for f in api.ok('midas.user.folders', token=ada_token)] == [
        'Private', 'Public']


def test_item_share_move_delete(midas_server):
    api = Api(midas_server)
    token = api.login()
    sub = api.ok('midas.folder.create', token=token, name='sub', parentid='2')['folder_id']
    item = api.ok('midas.item.create', token=token, parentid='2', name='x')['item_id']
    api.ok('midas.item.create', token=token, parentid=sub, name='x')
    moved = api.ok('midas.item.move', token=token, id=item, srcfolderid='2', dstfolderid=sub)
    assert moved['name'] == 'x (1)'
    assert [f['folder_id'] for f in moved['owningfolders']] == [sub]
    shared = api.ok('midas.item.share', token=token, id=item, dstfolderid='3')
    assert [f['folder_id'] for f in shared['owningfolders']] == [sub, '3']
    assert shared['privacy_status'] == '2'
    assert api.ok('midas.item.get', id=item)['privacy_status'] == '0'
    assert api.fail('midas.item.share', token=token, id=item, dstfolderid='999') == (
        '0', 'Error in params when checking Folder Policy.')
    api.ok('midas.folder.delete', token=token, id=sub)
    assert api.ok('midas.item.get', token=token, id=item)['folder_id'] == '3'
    assert api.ok('midas.item.delete', token=token, id=item) == ''
    assert midas_server.query('SELECT * FROM item2folder') == []


def test_folder_move_checks(midas_server):
    api = Api(midas_server)
    token = api.login()
    a = api.ok('midas.folder.create', token=token, name='a', parentid='2')['folder_id']
    b = api.ok('midas.folder.create', token=token, name='b', parentid=a)['folder_id']
    api.ok('midas.folder.create', token=token, name='b', parentid='3')
    assert api.fail('midas.folder.move', token=token, id=a, dstfolderid=b) == (
        '0', 'Parent is a child of Folder')
    assert api.fail('midas.folder.move', token=token, id=a, dstfolderid=a) == (
        '0', 'Folder == Parent')
    assert api.fail('midas.folder.move', token=token, id=b, dstfolderid='3') == (
        '0', 'This name is already used')
    moved = api.ok('midas.folder.move', token=token, id=a, dstfolderid='3')
    assert moved['parent_id'] == '3'
    rows = midas_server.query('SELECT folder_id, left_index, right_index FROM folder')
    spans = sorted((r['left_index'], r['right_index']) for r in rows)
    assert len({i for span in spans for i in span}) == 2 * len(spans)
    assert api.ok('midas.folder.get', token=token, id=b)['parent']['folder_id'] == a


def test_metadata_and_searches(midas_server):
    api = Api(midas_server)
    token = api.login()
    item = api.ok('midas.item.create', token=token, parentid='3', name='hello.txt',
                  description='an item')['item_id']
    assert api.fail('midas.item.getmetadata', token=token, id=item) == (
        '-151', 'The item must have at least one revision to have metadata')
    api.upload(token, item, 'hello.txt', b'hi\n', revision='head')
    assert api.fail('midas.item.setmetadata', token=token, id=item, element='e',
                    value='v') == ('-150', 'Parameter itemId is not defined')
    assert api.ok('midas.item.setmetadata', token=token, itemId=item, element='contributor',
                  qualifier='author', value='Alice') == '1'
    api.ok('midas.item.setmetadata', token=token, itemId=item, element='contributor',
           qualifier='author', value='Bob')
    assert api.ok('midas.item.getmetadata', token=token, id=item) == [
        {'metadata_id': '1', 'metadatatype': '0', 'element': 'contributor',
         'qualifier': 'author', 'value': 'Bob'}]
    assert api.fail('midas.item.getmetadata', token=token, id=item, revision='7') == (
        '-150', 'This revision number is invalid for this item.')
    found = api.ok('midas.item.searchbyname', name='hello.txt')['items']
    assert [(i['item_id'], i['folder_id']) for i in found] == [(item, '3')]
    assert api.ok('midas.item.searchbynameandfoldername', name='hello.txt',
                  folderName='Private') == {'items': []}
    result = api.ok('midas.resource.search', token=token, search='hello')
    assert (result['nitems'], result['results'][0]['resultType']) == ('1', 'item')


def test_communities(midas_server):
    api = Api(midas_server)
    token = api.login()
    ada = midas_server.add_user('ada@example.org', 'pw', 'Ada', 'L')
    ada_token = api.login(ada['email'], ada['api_key'])
    lab = api.ok('midas.community.create', token=token, name='lab', privacy='Public')
    assert (lab['name'], lab['view'], lab['can_join']) == ('Lab', '', '1')
    assert api.fail('midas.community.create', token=token, name='lab') == (
        '0', 'Community already exists.')
    assert api.fail('midas.community.create', token=ada_token, name='x') == (
        '-151', 'Only admins can create communities')
    secret = midas_server.add_community('Secret', privacy='Private')
    assert [c['name'] for c in api.ok('midas.community.list', token=ada_token)] == ['Lab']
    assert [c['name'] for c in api.ok('midas.community.list', token=token)] == ['Lab', 'Secret']
    assert api.fail('midas.community.get', token=ada_token, id=str(secret['community_id'])) == (
        '-151', "This community doesn't exist or you don't have the permissions.")
    children = api.ok('midas.community.children', id=lab['community_id'])['folders']
    assert [f['name'] for f in children] == ['Public']
    api.ok('midas.community.delete', token=token, id=lab['community_id'])
    assert api.ok('midas.community.list', token=token)[0]['name'] == 'Secret'


def test_link_create(midas_server):
    api = Api(midas_server)
    token = api.login()
    assert api.fail('midas.link.create', 'GET', token=token, folderid='2', url='http://x') == (
        '-153', 'POST method required')
    item = api.ok('midas.link.create', token=token, folderid='2',
                  url='http://example.org/data.bin', itemname='a link', length='123')
    assert (item['name'], item['sizebytes'], item['view']) == ('a link', '123', '')
    bitstream = api.ok('midas.item.get', token=token, id=item['item_id'])['revisions'][0][
        'bitstreams'][0]
    assert (bitstream['mimetype'], bitstream['path']) == ('url', 'http://example.org/data.bin')


def test_bad_privacy_fails_after_creating_the_folder_or_item(midas_server):
    api = Api(midas_server)
    token = api.login()
    bad = ('-150', 'privacy should be one of [Public|Private]')
    assert api.fail('midas.folder.create', token=token, parentid='2', name='f',
                    privacy='public') == bad
    assert api.fail('midas.item.create', token=token, parentid='2', name='i',
                    privacy='public') == bad
    # as in Midas (API §7.4 #22), both objects stay, with the parent's privacy
    assert midas_server.query("SELECT privacy_status FROM folder WHERE name = 'f'") == [
        {'privacy_status': 2}]
    assert midas_server.query("SELECT privacy_status FROM item WHERE name = 'i'") == [
        {'privacy_status': 2}]
