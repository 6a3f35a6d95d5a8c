"""The core methods of API §4.48 and ``midas.methods.list``, over raw HTTP."""

import json

import pytest

from midas_api import Api
from pydas.testing import MidasServer, methodhelp, registry, system

CONTENT = b'some bytes\n' * 10


@pytest.fixture
def env(midas_server):
    """Admin and two users; Ada owns an item with one uploaded file in her Public folder."""
    api = Api(midas_server)
    ada = midas_server.add_user('ada@example.org', 'pw', 'Ada', 'Lovelace')
    bob = midas_server.add_user('bob@example.org', 'pw', 'Bob', 'Builder')
    ada['token'] = api.login(ada['email'], ada['api_key'])
    bob['token'] = api.login(bob['email'], bob['api_key'])
    public = folder_named(midas_server, ada['folder_id'], 'Public')
    private = folder_named(midas_server, ada['folder_id'], 'Private')
    item = api.ok('midas.item.create', token=ada['token'], name='scan', parentid=public)
    api.upload(ada['token'], item['item_id'], 'scan.txt', CONTENT)
    bitstream = midas_server.query(
        'SELECT bitstream.* FROM bitstream JOIN itemrevision USING (itemrevision_id) '
        'WHERE item_id = ?', int(item['item_id']))[0]
    return {'api': api, 'server': midas_server, 'admin': api.login(), 'ada': ada, 'bob': bob,
            'public': public, 'private': private, 'item': int(item['item_id']),
            'bitstream': bitstream}


def folder_named(server, parent_id, name):
    return server.query('SELECT folder_id FROM folder WHERE parent_id = ? AND name = ?',
                        int(parent_id), name)[0]['folder_id']


def uuid_of(server, table, key, value):
    return server.query('SELECT uuid FROM %s WHERE %s = ?' % (table, key), value)[0]['uuid']


# -- methods.list ---------------------------------------------------------------------


def test_methods_list_matches_the_recorded_server():
    with MidasServer(modules=MidasServer.RECORDED_MODULES) as server:
        methods = Api(server).ok('midas.methods.list')['methods']
    assert [method['name'] for method in methods] == [entry[0] for entry in methodhelp.RECORDED]
    assert methods[0]['help']['params'] == []
    login = next(method for method in methods if method['name'] == 'login')
    assert list(login['help']['params']) == ['appname', 'email', 'apikey']


def test_every_recorded_method_has_a_documented_handler():
    for name in methodhelp.RECORDED_NAMES:
        documented = system.method_help(registry.CANONICAL[name][1])['params']
        assert set(methodhelp.recorded_help(name)['params']) <= set(documented), name


def _listed_names(server):
    return [method['name'] for method in Api(server).ok('midas.methods.list')['methods']]


def test_methods_list_of_other_profiles(midas_server):
    recorded = [entry[0] for entry in methodhelp.RECORDED]
    names = _listed_names(midas_server)
    assert names[:len(recorded)] == recorded
    assert names[len(recorded):] == ['tracker.results.upload.json',
                                     'batchmake.add.condor.dag', 'batchmake.add.condor.job']
    without_legacy = tuple(m for m in MidasServer.DEFAULT_MODULES if m != 'tracker_legacy')
    with MidasServer(modules=without_legacy) as server:
        names = _listed_names(server)
    assert names[:len(recorded)] == recorded
    assert names[len(recorded):] == ['batchmake.add.condor.dag', 'batchmake.add.condor.job']
    with MidasServer(modules=('tracker', 'tracker_legacy')) as server:
        names = _listed_names(server)
    assert names[-1] == 'tracker.results.upload.json'
    assert not [name for name in names if name.startswith(('mfa.', 'solr.', 'batchmake.'))]


# -- resources and paths --------------------------------------------------------------


def test_resource_get(env):
    api, server = env['api'], env['server']
    community = server.add_community('Lab')
    uuid = uuid_of(server, 'community', 'community_id', community['community_id'])
    assert api.ok('midas.resource.get', uuid=uuid) == {
        'type': '6', 'id': str(community['community_id'])}
    assert api.ok('midas.resource.get', uuid=uuid, folder='') == {
        'type': '4', 'id': str(community['folder_id'])}
    item_uuid = uuid_of(server, 'item', 'item_id', env['item'])
    assert api.ok('midas.resource.get', uuid=item_uuid, token='not-looked-at') == {
        'type': '1', 'id': str(env['item'])}
    assert api.fail('midas.resource.get', uuid='nope') == (
        '-150', 'No resource for the given UUID.')
    assert api.fail('midas.resource.get') == ('-150', 'Parameter uuid is not defined')


def test_paths(env):
    api, server, ada = env['api'], env['server'], env['ada']
    uuid = uuid_of(server, 'item', 'item_id', env['item'])
    to_root = api.ok('midas.path.to.root', uuid=uuid)
    assert [entry.get('item_id') or entry['folder_id'] for entry in to_root] == [
        str(env['item']), str(env['public']), str(ada['folder_id'])]
    assert api.ok('midas.path.from.root', uuid=uuid) == list(reversed(to_root))
    revision = server.query('SELECT uuid FROM itemrevision WHERE item_id = ?', env['item'])
    assert api.fail('midas.path.to.root', uuid=revision[0]['uuid']) == (
        '-150', 'Should be a folder, an item or a community.')
    response = api.raw('midas.path.from.root', uuid='unknown')
    assert response.status_code == 500 and 'An error occurred' in response.text
    assert api.fail('midas.path.to.root') == ('-150', 'Parameter uuid is not defined')


# -- items ----------------------------------------------------------------------------


def test_item_exists(env):
    api, bob = env['api'], env['bob']
    found = api.ok('midas.item.exists', token=bob['token'], parentid=env['public'], name='scan')
    assert found['exists'] == '1' and found['item']['item_id'] == str(env['item'])
    assert api.ok('midas.item.exists', parentid=env['public'], name='other') == {'exists': ''}
    assert api.fail('midas.item.exists', token=bob['token'], parentid=env['private'],
                    name='scan') == ('-151', 'Read permission required on folder')
    assert api.fail('midas.item.exists', parentid='999', name='scan') == (
        '-150', 'Invalid parentid')
    assert api.fail('midas.item.exists', parentid=env['public']) == (
        '-150', 'Parameter name is not defined')


def test_item_duplicate(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    api.ok('midas.item.setmetadata', token=ada['token'], itemId=env['item'], element='a',
           value='1')
    copy = api.ok('midas.item.duplicate', token=ada['token'], id=env['item'],
                  dstfolderid=env['private'])
    copy_id = int(copy['item_id'])
    assert copy_id != env['item'] and copy['name'] == 'scan'
    assert server.query('SELECT folder_id FROM item2folder WHERE item_id = ?', copy_id) == [
        {'folder_id': env['private']}]
    rows = server.query('SELECT revision, name, path FROM bitstream JOIN itemrevision USING '
                        '(itemrevision_id) WHERE item_id IN (?, ?) ORDER BY item_id',
                        env['item'], copy_id)
    assert len(rows) == 2 and rows[0] == rows[1]
    assert server.query('SELECT value FROM metadatavalue JOIN itemrevision USING '
                        '(itemrevision_id) WHERE item_id = ?', copy_id) == [{'value': '1'}]
    # Bob can read the item (Public folder) but not write into Ada's Private folder.
    assert api.fail('midas.item.duplicate', token=bob['token'], id=env['item'],
                    dstfolderid=env['private']) == (
        '-151', "This item doesn't exist or you don't have the permissions.")
    assert api.fail('midas.item.duplicate', token=ada['token'], id=env['item'],
                    dstfolderid='999') == ('0', 'Error in params when checking Folder Policy.')
    assert api.fail('midas.item.duplicate', token=ada['token'], id=env['item']) == (
        '-150', 'Parameter dstfolderid is not defined')
    assert server.query('SELECT COUNT(*) AS n FROM item')[0]['n'] == 2


def test_item_search_is_broken_as_recorded(env):
    response = env['api'].raw('midas.item.search', search='scan')
    assert response.status_code == 500 and response.headers['Content-Type'].startswith(
        'text/html')
    assert env['api'].fail('midas.item.search') == ('-150', 'Parameter search is not defined')


# -- bitstreams -----------------------------------------------------------------------


def test_bitstream_edit(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    bitstream_id = env['bitstream']['bitstream_id']
    edited = api.ok('midas.bitstream.edit', token=ada['token'], id=bitstream_id,
                    name='renamed.txt', mimetype='text/x-test')
    assert (edited['name'], edited['mimetype']) == ('renamed.txt', 'text/x-test')
    assert server.query('SELECT name, mimetype FROM bitstream WHERE bitstream_id = ?',
                        bitstream_id) == [{'name': 'renamed.txt', 'mimetype': 'text/x-test'}]
    assert api.fail('midas.bitstream.edit', token=bob['token'], id=bitstream_id,
                    name='x') == ('-151', 'Write access on item required')
    assert api.fail('midas.bitstream.edit', token=ada['token'], id='999') == (
        '-150', 'Invalid bitstream id')
    assert server.query('SELECT name FROM bitstream')[0]['name'] == 'renamed.txt'


def test_bitstream_delete(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    bitstream = env['bitstream']
    assert api.fail('midas.bitstream.delete', token=bob['token'],
                    id=bitstream['bitstream_id']) == (
        '-151', 'Admin privileges required on the item.')
    assert api.fail('midas.bitstream.delete', token=ada['token']) == (
        '-150', 'Parameter id is not defined')
    assert server.assetstore_file(bitstream['checksum']) is not None
    assert api.ok('midas.bitstream.delete', token=ada['token'],
                  id=bitstream['bitstream_id']) == ''
    assert server.query('SELECT * FROM bitstream') == []
    assert server.assetstore_file(bitstream['checksum']) is None


def test_admin_database_cleanup(env):
    api, server = env['api'], env['server']
    store = server.store
    parent = store.insert_folder('parent', env['private'])
    orphan_folder = store.insert_folder('lost', parent)
    store.execute('DELETE FROM folder WHERE folder_id = ?', parent)
    orphan_item = store.execute("INSERT INTO item (name, uuid) VALUES ('lost', 'x')")
    assert api.fail('midas.admin.database.cleanup', token=env['ada']['token']) == (
        '-151', 'Only admin users may call this method')
    assert api.fail('midas.admin.database.cleanup') == (
        '-151', 'Only admin users may call this method')
    assert api.ok('midas.admin.database.cleanup', token=env['admin']) == ''
    assert server.query('SELECT * FROM folder WHERE folder_id = ?', orphan_folder) == []
    assert server.query('SELECT * FROM item WHERE item_id = ?', orphan_item) == []
    assert server.query('SELECT item_id FROM item') == [{'item_id': env['item']}]


# -- metadata -------------------------------------------------------------------------


def test_setmultiplemetadata_and_lists(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    assert api.ok('midas.item.setmultiplemetadata', token=ada['token'], itemid=env['item'],
                  count='2', element_1='contributor', qualifier_1='author', value_1='Ada',
                  element_2='size', value_2='42', type_2='1') == '1'
    assert server.query('SELECT metadatatype, element, qualifier, value FROM metadata JOIN '
                        'metadatavalue USING (metadata_id) ORDER BY metadatavalue_id') == [
        {'metadatatype': 0, 'element': 'contributor', 'qualifier': 'author', 'value': 'Ada'},
        {'metadatatype': 1, 'element': 'size', 'qualifier': '', 'value': '42'}]
    assert api.ok('midas.metadata.types.list') == ['text', 'int']
    assert api.ok('midas.metadata.elements.list', type='0') == [
        'contributor', 'date', 'description', 'identifier', 'subject']  # with the defaults
    assert api.ok('midas.metadata.elements.list', typename='int') == ['size']
    assert api.ok('midas.metadata.qualifiers.list', typename='text',
                  element='contributor') == ['author']
    assert api.fail('midas.metadata.elements.list') == ('-150', 'Parameter type is not defined')
    assert api.fail('midas.metadata.elements.list', typename='complex') == (
        '0', 'Invalid metadata type string passed')
    assert api.fail('midas.item.setmultiplemetadata', token=bob['token'], itemid=env['item'],
                    count='1', element_1='a', value_1='b') == (
        '-151', "This item doesn't exist or you don't have write permission.")
    assert api.fail('midas.item.setmultiplemetadata', token=ada['token'], itemid=env['item'],
                    count='0') == ('-150', 'Count must be an integer greater than 0.')
    assert api.fail('midas.item.setmultiplemetadata', token=ada['token'], itemid=env['item'],
                    count='2', element_1='a', value_1='b', element_2='c') == (
        '-150', 'Count was 1 but param value_2 is missing.')
    assert api.fail('midas.item.setmultiplemetadata', token=ada['token'], itemid=env['item'],
                    count='1', element_1='a', value_1='b', type_1='9') == (
        '-150', 'param type_1 must be an integer between 0 and 6.')
    assert len(server.query('SELECT * FROM metadatavalue')) == 2


def test_fresh_install_defines_the_14_default_text_fields(midas_server):
    api = Api(midas_server)
    fields = midas_server.query('SELECT * FROM metadata ORDER BY metadata_id')
    assert [(row['metadata_id'], row['metadatatype'], row['element'], row['qualifier'])
            for row in fields] == [
        (1, 0, 'contributor', 'author'), (2, 0, 'date', 'uploaded'), (3, 0, 'date', 'issued'),
        (4, 0, 'date', 'created'), (5, 0, 'identifier', 'citation'),
        (6, 0, 'identifier', 'uri'), (7, 0, 'identifier', 'pubmed'),
        (8, 0, 'identifier', 'doi'), (9, 0, 'description', 'general'),
        (10, 0, 'description', 'provenance'), (11, 0, 'description', 'sponsorship'),
        (12, 0, 'description', 'publisher'), (13, 0, 'subject', 'keyword'),
        (14, 0, 'subject', 'ocis')]
    assert api.ok('midas.metadata.types.list') == ['text']
    assert api.ok('midas.metadata.elements.list', typename='text') == [
        'contributor', 'date', 'description', 'identifier', 'subject']
    assert api.ok('midas.metadata.qualifiers.list', type='0', element='description') == [
        'general', 'provenance', 'publisher', 'sponsorship']
    assert api.ok('midas.metadata.elements.list', typename='int') == []
    # a value for a default field uses it (transcript 36: contributor.author is field 1);
    # a new field comes after the defaults
    token = api.login()
    folder = folder_named(midas_server, 1, 'Private')
    item = api.ok('midas.item.create', token=token, name='x', parentid=folder)['item_id']
    api.upload(token, item, 'x.txt', b'x')
    api.ok('midas.item.setmetadata', token=token, itemId=item, element='contributor',
           qualifier='author', value='Alice')
    api.ok('midas.item.setmetadata', token=token, itemId=item, element='lab', value='B2')
    assert [(entry['metadata_id'], entry['element']) for entry in api.ok(
        'midas.item.getmetadata', token=token, id=item)] == [('1', 'contributor'), ('15', 'lab')]
    midas_server.reset()
    assert len(midas_server.query('SELECT * FROM metadata')) == 14


def test_addmetadata(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    entries = json.dumps([{'element': 'subject', 'qualifier': 'keyword', 'value': 'brain'}])
    item = api.ok('midas.item.addmetadata', token=ada['token'], itemid=env['item'],
                  metadata=entries)
    assert item['item_id'] == str(env['item'])
    assert server.query('SELECT element, qualifier, value FROM metadata JOIN metadatavalue '
                        'USING (metadata_id)') == [
        {'element': 'subject', 'qualifier': 'keyword', 'value': 'brain'}]
    assert api.fail('midas.item.addmetadata', token=bob['token'], itemid=env['item'],
                    metadata=entries)[0] == '-151'
    assert api.fail('midas.item.addmetadata', token=ada['token'], itemid=env['item'],
                    metadata=json.dumps([{'element': 'x'}])) == (
        '-150', "All metadata must have 'element' and 'value' keys.")
    assert len(server.query('SELECT * FROM metadatavalue')) == 1


def test_deletemetadata(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    for element in ('a', 'b', 'c'):
        api.ok('midas.item.setmetadata', token=ada['token'], itemId=env['item'],
               element=element, value='v')
    assert api.fail('midas.item.deletemetadata', token=bob['token'], itemid=env['item'],
                    element='a')[0] == '-151'
    assert api.fail('midas.item.deletemetadata', token=ada['token'], itemid=env['item']) == (
        '-150', 'Parameter element is not defined')
    assert api.ok('midas.item.deletemetadata', token=ada['token'], itemid=env['item'],
                  element='a') == '1'
    assert api.ok('midas.item.deletemetadata', token=ada['token'], itemid=env['item'],
                  element='undefined') == ''
    assert [row['element'] for row in server.query(
        'SELECT element FROM metadata JOIN metadatavalue USING (metadata_id) '
        'ORDER BY element')] == ['b', 'c']
    assert api.fail('midas.item.deletemetadata.all', token=bob['token'],
                    itemid=env['item'])[0] == '-151'
    assert api.fail('midas.item.deletemetadata.all', token=ada['token'], itemid=env['item'],
                    revision='7') == ('-150', 'This revision number is invalid for this item.')
    assert api.ok('midas.item.deletemetadata.all', token=ada['token'], itemid=env['item'],
                  revision='all') == '1'
    assert server.query('SELECT * FROM metadatavalue') == []


# -- policies and privacy -------------------------------------------------------------


def test_folder_policy_user_recursive_and_list(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    answer = api.ok('midas.folder.add.policyuser', token=ada['token'], folder_id=env['public'],
                    user_id=bob['user_id'], policy='Write', recursive='')
    assert answer == {'success': '2', 'failure': '0'}
    assert server.query('SELECT policy FROM itempolicyuser WHERE item_id = ? AND user_id = ?',
                        env['item'], bob['user_id']) == [{'policy': 1}]
    listed = api.ok('midas.folder.list.permissions', token=ada['token'],
                    folder_id=env['public'])
    assert listed['privacy'] == 'Public'
    assert {'user_id': str(bob['user_id']), 'policy': 'Write',
            'email': 'bob@example.org'} in listed['user']
    assert {'group_id': '0', 'policy': 'Read', 'name': 'Anonymous'} in listed['group']
    assert api.fail('midas.folder.list.permissions', token=bob['token'],
                    folder_id=env['public']) == (
        '-151', 'Admin privileges required on the folder to list permissions.')
    assert api.fail('midas.folder.add.policyuser', token=ada['token'], folder_id=env['public'],
                    user_id=bob['user_id'], policy='Owner') == (
        '-150', 'policy should be one of [Admin|Write|Read]')
    assert api.ok('midas.folder.remove.policyuser', token=ada['token'],
                  folder_id=env['public'], user_id=bob['user_id']) == {
        'success': '1', 'failure': '0'}
    assert server.query('SELECT * FROM folderpolicyuser WHERE folder_id = ? AND user_id = ?',
                        env['public'], bob['user_id']) == []
    assert api.fail('midas.folder.remove.policyuser', token=bob['token'],
                    folder_id=env['public'], user_id=ada['user_id']) == (
        '-151', 'Admin privileges required on the folder.')
    assert api.fail('midas.folder.remove.policyuser', token=ada['token'],
                    folder_id=env['public'], user_id='999') == (
        '-150', "This user doesn't exist.")


def test_folder_policy_group_and_privacy_recursive(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    assert api.ok('midas.folder.set.privacy.recursive', token=ada['token'],
                  folder_id=env['public'], privacy='Private') == {'success': '2', 'failure': '0'}
    assert server.query('SELECT privacy_status FROM item WHERE item_id = ?', env['item']) == [
        {'privacy_status': 2}]
    assert api.fail('midas.item.get', token=bob['token'], id=env['item'])[0] == '-151'
    assert api.fail('midas.folder.set.privacy.recursive', token=bob['token'],
                    folder_id=env['public'], privacy='Public') == (
        '-151', 'Admin privileges required on the folder to set privacy.')
    assert api.fail('midas.folder.set.privacy.recursive', token=ada['token'],
                    folder_id=env['public'], privacy='public') == (
        '-150', 'privacy should be one of [Public|Private]')
    assert api.ok('midas.folder.add.policygroup', token=ada['token'], folder_id=env['public'],
                  group_id='0', policy='Read', recursive='') == {'success': '2', 'failure': '0'}
    assert server.query('SELECT privacy_status FROM item WHERE item_id = ?', env['item']) == [
        {'privacy_status': 0}]
    assert api.fail('midas.folder.add.policygroup', token=ada['token'], folder_id=env['public'],
                    group_id='999', policy='Read') == ('-150', "This group doesn't exist.")
    assert api.fail('midas.folder.add.policygroup', token=bob['token'], folder_id=env['public'],
                    group_id='0', policy='Admin')[0] == '-151'
    assert api.ok('midas.folder.remove.policygroup', token=ada['token'],
                  folder_id=env['public'], group_id='0') == {'success': '1', 'failure': '0'}
    assert server.query('SELECT privacy_status FROM folder WHERE folder_id = ?',
                        env['public']) == [{'privacy_status': 2}]
    assert api.fail('midas.folder.remove.policygroup', token=ada['token'],
                    folder_id='999', group_id='0') == ('-150', "This folder doesn't exist.")


def test_item_policies(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    community = server.add_community('Lab')
    group_id = community['membergroup_id']
    assert api.ok('midas.item.add.policyuser', token=ada['token'], item_id=env['item'],
                  user_id=bob['user_id'], policy='Admin') == {'success': 'true'}
    assert api.ok('midas.item.add.policygroup', token=ada['token'], item_id=env['item'],
                  group_id=group_id, policy='Write') == {'success': 'true'}
    listed = api.ok('midas.item.list.permissions', token=bob['token'], item_id=env['item'])
    assert {'group_id': str(group_id), 'policy': 'Write', 'name': 'Members'} in listed['group']
    assert server.query('SELECT policy FROM itempolicygroup WHERE item_id = ? AND group_id = ?',
                        env['item'], group_id) == [{'policy': 1}]
    assert api.ok('midas.item.remove.policygroup', token=bob['token'], item_id=env['item'],
                  group_id=group_id) == {'success': 'true'}
    assert api.ok('midas.item.remove.policyuser', token=ada['token'], item_id=env['item'],
                  user_id=bob['user_id']) == {'success': 'true'}
    assert server.query('SELECT * FROM itempolicyuser WHERE user_id = ?', bob['user_id']) == []
    assert api.fail('midas.item.list.permissions', token=bob['token'], item_id=env['item']) == (
        '-151', 'Admin privileges required on the item to list permissions.')
    assert api.fail('midas.item.add.policyuser', token=bob['token'], item_id=env['item'],
                    user_id=bob['user_id'], policy='Admin') == (
        '-151', 'Admin privileges required on the item.')
    assert api.fail('midas.item.add.policygroup', token=ada['token'], item_id=env['item'],
                    group_id=group_id) == ('-150', 'Parameter policy is not defined')
    assert api.fail('midas.item.remove.policyuser', token=ada['token'], item_id='999',
                    user_id=bob['user_id']) == ('-150', "This item doesn't exist.")


ADMIN_ONLY = (
    ('midas.folder.list.permissions', ('folder_id',)),
    ('midas.folder.set.privacy.recursive', ('folder_id', 'privacy')),
    ('midas.folder.add.policygroup', ('folder_id', 'group_id', 'policy')),
    ('midas.folder.remove.policygroup', ('folder_id', 'group_id')),
    ('midas.folder.add.policyuser', ('folder_id', 'user_id', 'policy')),
    ('midas.folder.remove.policyuser', ('folder_id', 'user_id')),
    ('midas.item.list.permissions', ('item_id',)),
    ('midas.item.add.policygroup', ('item_id', 'group_id', 'policy')),
    ('midas.item.remove.policygroup', ('item_id', 'group_id')),
    ('midas.item.add.policyuser', ('item_id', 'user_id', 'policy')),
    ('midas.item.remove.policyuser', ('item_id', 'user_id')),
)


@pytest.mark.parametrize('method, names', ADMIN_ONLY, ids=[entry[0] for entry in ADMIN_ONLY])
def test_policy_methods_need_admin_and_parameters(env, method, names):
    api, server, bob = env['api'], env['server'], env['bob']
    values = {'folder_id': env['public'], 'item_id': env['item'], 'group_id': '0',
              'user_id': bob['user_id'], 'privacy': 'Public', 'policy': 'Admin'}
    params = {name: values[name] for name in names}
    before = server.query('SELECT * FROM folderpolicyuser UNION ALL SELECT * FROM '
                          'itempolicyuser UNION ALL SELECT * FROM itempolicygroup')
    for token in (bob['token'], None):
        code, message = api.fail(method, token=token, **params)
        assert code == '-151' and message.startswith('Admin privileges required on the')
    for missing in names:
        partial = {name: value for name, value in params.items() if name != missing}
        assert api.fail(method, token=env['ada']['token'], **partial) == (
            '-150', 'Parameter %s is not defined' % missing)
    assert server.query('SELECT * FROM folderpolicyuser UNION ALL SELECT * FROM '
                        'itempolicyuser UNION ALL SELECT * FROM itempolicygroup') == before


# -- groups ---------------------------------------------------------------------------


def test_groups(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    community = server.add_community('Lab', owner='ada@example.org')
    community_id = community['community_id']
    group_id = api.ok('midas.group.add', token=ada['token'], community_id=community_id,
                      name='Reviewers')['group_id']
    assert server.query('SELECT community_id, name FROM "group" WHERE group_id = ?',
                        int(group_id)) == [{'community_id': community_id, 'name': 'Reviewers'}]
    assert api.ok('midas.group.add.user', token=ada['token'], group_id=group_id,
                  user_id=bob['user_id']) == {'success': 'true'}
    assert server.query('SELECT user_id FROM user2group WHERE group_id = ?', int(group_id)) == [
        {'user_id': bob['user_id']}]
    assert api.ok('midas.group.list.users', token=ada['token'], group_id=group_id) == {
        'users': {str(bob['user_id']): {'firstname': 'Bob', 'lastname': 'Builder'}}}
    groups = api.ok('midas.community.list.groups', token=ada['token'],
                    community_id=community_id)['groups']
    assert groups[group_id] == 'Reviewers' and groups[str(community['admingroup_id'])] == (
        'Administrator')
    assert api.ok('midas.group.remove.user', token=ada['token'], group_id=group_id,
                  user_id=bob['user_id']) == {'success': 'true'}
    assert api.ok('midas.group.list.users', token=ada['token'], group_id=group_id) == {
        'users': []}
    # Bob is no community administrator; anonymous callers must log in.
    assert api.fail('midas.group.add', token=bob['token'], community_id=community_id,
                    name='Mine') == ('-151', 'Community Admin permissions required.')
    assert api.fail('midas.community.list.groups', community_id=community_id) == (
        '-151', 'You must be logged in to list groups in a community')
    assert api.fail('midas.group.add', token=ada['token'], community_id=community_id) == (
        '-150', 'Parameter name is not defined')
    assert api.fail('midas.group.add.user', token=ada['token'], group_id=group_id,
                    user_id='999') == ('-150', 'This user does not exist')
    api.ok('midas.folder.add.policygroup', token=ada['token'], folder_id=env['public'],
           group_id=group_id, policy='Read')
    assert api.ok('midas.group.remove', token=ada['token'], group_id=group_id) == {
        'success': 'true'}
    assert server.query('SELECT * FROM "group" WHERE group_id = ?', int(group_id)) == []
    assert server.query('SELECT * FROM folderpolicygroup WHERE group_id = ?',
                        int(group_id)) == []
    assert api.fail('midas.group.remove', token=ada['token'], group_id=group_id) == (
        '-150', 'This group does not exist')


# -- tracker aggregates ---------------------------------------------------------------


def test_tracker_validate_and_aggregates(env):
    api, server, ada, bob = env['api'], env['server'], env['ada'], env['bob']
    community = server.add_community('Lab', owner='ada@example.org')
    api.ok('midas.tracker.submission.add', token=ada['token'],
           communityId=community['community_id'], producerDisplayName='CI',
           producerRevision='abc', branch='main', uuid='sub1', submitTime='now')
    document = {'tests': 3}
    assert api.ok('midas.tracker.submission.validate', token=ada['token'], uuid='sub1',
                  submissionDocument=json.dumps(document)) == ''
    stored = server.query("SELECT document FROM tracker_submission WHERE uuid = 'sub1'")
    assert json.loads(stored[0]['document']) == document
    assert api.fail('midas.tracker.submission.validate', token=ada['token'], uuid='sub1',
                    producerConfig='[1]') == ('-1', 'producerConfig must be a JSON object')
    assert api.fail('midas.tracker.submission.validate', token=bob['token'], uuid='sub1')[0] == (
        '403')
    assert api.ok('midas.tracker.aggregatemetrics.update', token=ada['token'],
                  uuid='sub1') == []
    assert api.fail('midas.tracker.aggregatemetrics.update', token=ada['token']) == (
        '-1', 'Parameter uuid must be set.')
    assert api.fail('midas.tracker.aggregatemetricspecnotifications.list', token=ada['token'],
                    aggregateMetricSpecId='1')[0] == '404'
    assert api.fail('midas.tracker.aggregatemetricspecnotifieduser.create', token=ada['token'],
                    userId=bob['user_id'], aggregateMetricNotificationId='1')[0] == '404'
