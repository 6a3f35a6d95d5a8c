"""System, users, login, tokens and the wire format, over raw HTTP."""

import collections

import requests

from pydas.testing.storage import ALPHANUMERIC, random_string

from midas_api import Api


def test_version_headers_and_body(midas_server):
    response = requests.post(midas_server.url + '/api/json?method=midas.version')
    assert response.status_code == 200
    assert response.content == b'{"code":"0","data":{"version":"3.4.2"},"message":"","stat":"ok"}'
    assert response.headers['Content-Type'] == 'text/html; charset=UTF-8'
    assert response.headers['Set-Cookie'].startswith('PHPSESSID=')
    assert response.headers['Pragma'] == 'no-cache'


def test_alternate_endpoints_and_name_resolution(midas_server):
    for path in ('/api/json', '/api/index/json', '/api/rest'):
        answer = requests.get(midas_server.url + path, params={'method': 'midas.VERSION'}).json()
        assert answer['data'] == {'version': '3.4.2'}
    api = Api(midas_server)
    assert api.ok('midas.modules.list')['modules'][:2] == ['api', 'scheduler']
    assert api.ok('midas.system.listMethods') == ['midas.system.listMethods']
    names = [method['name'] for method in api.ok('midas.methods.list')['methods']]
    assert 'folder.create' in names and 'upload.perform' in names


def test_unknown_and_missing_method(midas_server):
    api = Api(midas_server)
    assert api.fail('midas.no.such.method') == (
        '-101', 'Server error. Requested method midas.no.such.method does not exist.')
    response = requests.get(midas_server.url + '/api/json')
    assert response.text == 'Inconsistent request: please set a method parameter'


def test_query_string_wins_over_form(midas_server):
    api = Api(midas_server)
    answer = api.session.post(api.url + '?method=midas.user.get&email=admin@example.org',
                              data={'email': 'nobody@example.org'}).json()
    assert answer['data']['user_id'] == '1'


def test_fresh_installation_ids(midas_server):
    api = Api(midas_server)
    admin = api.ok('midas.user.get', id='1')
    assert (admin['email'], admin['folder_id'], admin['admin']) == ('admin@example.org', '1', '1')
    folders = api.ok('midas.user.folders', token=api.login())
    assert [(f['folder_id'], f['name'], f['privacy_status']) for f in folders] == [
        ('2', 'Private', '2'), ('3', 'Public', '0')]


def test_apikey_default_and_login(midas_server):
    api = Api(midas_server)
    data = {'email': midas_server.admin_email, 'password': midas_server.admin_password}
    assert api.ok('midas.user.apikey.default', data=data) == {'apikey': midas_server.admin_api_key}
    assert api.fail('midas.user.apikey.default', 'GET', **data) == ('-153', 'POST method required')
    assert api.fail('midas.user.apikey.default', data=dict(data, password='x')) == (
        '-150', 'Login failed')
    token = api.login()
    assert len(token) == 32 and api.login() == token
    assert api.fail('midas.login', email=midas_server.admin_email, apikey='bogus',
                    appname='Default') == ('0', '')
    assert api.fail('midas.login', email='nobody@example.org', apikey='x', appname='Default') == (
        '-150', 'Unable to authenticate. Please check credentials.')


def test_password_change_regenerates_default_key(midas_server):
    user = midas_server.add_user('ada@example.org', 'pw', 'ada', 'lovelace')
    midas_server.store.set_password(user['user_id'], 'new')
    assert midas_server.store.default_api_key(user['user_id']) != user['api_key']


def test_tokens_expire(midas_server):
    api = Api(midas_server)
    token = api.login()
    assert api.fail('midas.user.folders', token='notatoken') == ('-101', 'Invalid token')
    midas_server.expire_tokens()
    assert api.fail('midas.user.folders', token=token) == ('-101', 'Invalid token')
    assert api.login() != token
    # Methods that never resolve the caller ignore a bad token.
    assert api.ok('midas.version', token='notatoken')


def test_user_lookups(midas_server):
    api = Api(midas_server)
    user = midas_server.add_user('ada@example.org', 'pw', 'ada', 'lovelace')
    assert api.ok('midas.user.get', firstname='Ada', lastname='Lovelace')['email'] == user['email']
    assert api.ok('midas.user.get', user_id='999') == ''
    assert api.fail('midas.user.get') == (
        '-150', 'Please provide a user email or both first and last name')
    assert api.fail('midas.user.list') == ('-150', 'Parameter limit is not defined')
    assert [u['lastname'] for u in api.ok('midas.user.list', limit='10')] == ['Lovelace', 'User']
    assert api.ok('midas.user.folders') == []


def test_totp_users(midas_server):
    user = midas_server.add_user('eve@example.org', 'pw', 'Eve', 'E', mfa=True)
    code = midas_server.totp('eve@example.org')
    assert len(code) == 6 and code.isdigit() and len(user['otp_secret']) == 32
    rows = midas_server.query('SELECT otp_secret FROM user WHERE user_id = ?', user['user_id'])
    assert rows == [{'otp_secret': user['otp_secret']}]


def test_non_ascii_double_encoded(midas_server):
    api = Api(midas_server)
    response = api.raw('midas.folder.create', token=api.login(), name='Grüße', parentid='3')
    assert b'"name":"Gr\\u00c3\\u00bc\\u00c3\\u009fe"' in response.content
    assert midas_server.query("SELECT name FROM folder WHERE parent_id = 3") == [{'name': 'Grüße'}]


def test_keep_alive_reuses_connection(midas_server):
    api = Api(midas_server)
    for _ in range(20):
        api.ok('midas.version')
    assert len(api.session.get_adapter(api.url).poolmanager.pools) == 1


def test_random_strings_have_the_length_asked_and_every_character_as_likely():
    for length in (0, 1, 32, 64, 300):
        assert len(random_string(length)) == length
    counts = collections.Counter(''.join(random_string(64) for _ in range(2000)))
    assert sorted(counts) == sorted(ALPHANUMERIC)
    # The first 8 characters come 16,516 times in all if every character is as likely
    # (standard deviation 120), and 20,000 times if bytes 248-255 were mapped to them.
    assert sum(counts[character] for character in ALPHANUMERIC[:8]) < 17300
