"""Fault injection, from Python and over the HTTP control endpoint."""

import os
import time

import pytest
import requests

from midas_api import Api


def test_fail_next_status_retry_after_and_html(midas_server):
    api = Api(midas_server)
    midas_server.faults.fail_next(count=2, status=503, method='midas.version', retry_after=3)
    assert api.ok('midas.info')
    for _ in range(2):
        response = api.raw('midas.version')
        assert (response.status_code, response.headers['Retry-After']) == (503, '3')
    assert api.ok('midas.version')
    midas_server.faults.fail_next(status=500, html=True)
    response = api.raw('midas.version')
    assert response.status_code == 500 and b'An error occurred' in response.content


def test_cut_request_keeps_partial_upload(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = api.ok('midas.item.create', token=token, parentid='2', name='cut')['item_id']
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='cut.bin')['token']
    data = os.urandom(1 << 20)
    midas_server.faults.cut_request(4096, method='midas.upload.perform')
    with pytest.raises(requests.ConnectionError):
        api.raw('midas.upload.perform', 'PUT', data, uploadtoken=upload_token,
                filename='cut.bin', length=str(len(data)))
    assert api.ok('midas.upload.getoffset', uploadtoken=upload_token) == {'offset': '4096'}
    api.ok('midas.upload.perform', 'PUT', data[4096:], uploadtoken=upload_token,
           filename='cut.bin', length=str(len(data)))


def test_cut_response_of_download(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = api.ok('midas.item.create', token=token, parentid='2', name='d')['item_id']
    api.upload(token, item_id, 'd.bin', b'x' * 100000, revision='head')
    midas_server.faults.cut_response(1000, method='midas.item.download')
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.session.get(api.url, params={'method': 'midas.item.download', 'id': item_id,
                                         'token': token})
    assert api.ok('midas.item.get', token=token, id=item_id)['download'] == '0'


def test_delay_and_http_control(midas_server):
    api = Api(midas_server)
    control = midas_server.url + '/__pydas__/faults'
    assert requests.post(control, json={'action': 'delay', 'seconds': 0.2}).json() == {'ok': True}
    started = time.monotonic()
    api.ok('midas.version')
    assert time.monotonic() - started >= 0.2
    requests.post(control, json={'action': 'fail_next', 'status': 502})
    assert requests.get(control).json()['pending']['fail'][0]['status'] == 502
    assert api.raw('midas.version').status_code == 502
    token = api.login()
    requests.post(control, json={'action': 'expire_tokens'})
    assert api.fail('midas.user.folders', token=token) == ('-101', 'Invalid token')
    assert requests.post(control, json={'action': 'bogus'}).status_code == 400


def test_calls_are_recorded(midas_server):
    api = Api(midas_server)
    api.call('midas.user.get', data={'email': 'a@b.c'}, id='1')
    recorded = midas_server.calls[-1]
    assert (recorded.verb, recorded.method, recorded.query['id'], recorded.form) == (
        'POST', 'midas.user.get', '1', {'email': 'a@b.c'})
    midas_server.clear_calls()
    assert midas_server.calls == []
