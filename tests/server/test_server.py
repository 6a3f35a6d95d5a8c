"""The server object: reset, persistence, concurrency, and the command line."""

import concurrent.futures
import json
import signal
import subprocess
import sys

import pytest
import requests

from midas_api import Api
from pydas.testing import MidasServer


def test_reset_restores_fresh_state(midas_server):
    api = Api(midas_server)
    token = api.login()
    api.upload(token, api.ok('midas.item.create', token=token, parentid='2',
                             name='x')['item_id'], 'x', b'data', revision='head')
    midas_server.add_user('ada@example.org', 'pw', 'Ada', 'L')
    password = midas_server.admin_password
    midas_server.reset()
    assert midas_server.query('SELECT user_id FROM user') == [{'user_id': 1}]
    assert midas_server.query('SELECT COUNT(*) AS n FROM item') == [{'n': 0}]
    assert midas_server.admin_password == password
    assert api.fail('midas.user.folders', token=token) == ('-101', 'Invalid token')


def test_named_data_dir_survives_restart(tmp_path):
    with MidasServer(data_dir=str(tmp_path)) as server:
        api = Api(server)
        token = api.login()
        item_id = api.ok('midas.item.create', token=token, parentid='2', name='kept')['item_id']
        api.upload(token, item_id, 'kept.txt', b'persistent', revision='head')
        key = server.admin_api_key
    with MidasServer(data_dir=str(tmp_path)) as server:
        api = Api(server)
        assert server.admin_api_key == key
        token = api.login()
        response = api.session.get(api.url, params={'method': 'midas.item.download',
                                                    'id': item_id, 'token': token})
        assert response.content == b'persistent'
    assert (tmp_path / 'midas.sqlite').exists()


def test_temporary_data_dir_is_removed():
    server = MidasServer().start()
    data_dir = server.data_dir
    server.stop()
    assert not __import__('os').path.exists(data_dir)


def test_concurrent_item_creation(midas_server):
    token = Api(midas_server).login()

    def create(number):
        return Api(midas_server).ok('midas.item.create', token=token, parentid='2',
                                    name='same')['name']

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        names = list(pool.map(create, range(24)))
    assert len(set(names)) == 24


def test_recorded_modules_profile():
    with MidasServer(modules=MidasServer.RECORDED_MODULES) as server:
        modules = Api(server).ok('midas.modules.list')['modules']
    assert modules == ['api', 'scheduler', 'thumbnailcreator', 'dicomextractor', 'solr',
                       'mfa', 'tracker']


def test_command_line_json(tmp_path):
    process = subprocess.Popen([sys.executable, '-m', 'pydas.testing', '--json',
                                '--data-dir', str(tmp_path)], stdout=subprocess.PIPE)
    try:
        details = json.loads(process.stdout.readline())
        assert set(details) == {'url', 'email', 'password', 'api_key'}
        answer = requests.post(details['url'] + '/api/json', params={
            'method': 'midas.login', 'email': details['email'], 'apikey': details['api_key'],
            'appname': 'Default'}).json()
        assert answer['stat'] == 'ok'
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_command_line_workers_option():
    from pydas.testing.__main__ import parse_args
    assert parse_args(['--workers', '2']).workers == 2
    assert parse_args([]).workers is None
    with pytest.raises(SystemExit):
        parse_args(['--workers', '0'])
