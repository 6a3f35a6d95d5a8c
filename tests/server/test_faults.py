"""Fault injection, from Python and over the HTTP control endpoint."""

import hashlib
import os
import socket
import time

import pytest
import requests

from midas_api import Api
from polling import poll


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


# -- lag_after_cut: the partial grows after the cut ------------------------------------------

def _upload_token(api, token, name):
    item_id = api.ok('midas.item.create', token=token, parentid='2', name=name)['item_id']
    return item_id, api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                           filename=name)['token']


def _put_and_break(server, upload_token, length, data):
    """PUT a perform announcing ``length`` bytes, send ``data``, then break the connection."""
    sock = socket.create_connection((server.host, int(server.url.rsplit(':', 1)[1])))
    sock.sendall(b'PUT /api/json?method=midas.upload.perform&uploadtoken=%s&filename=f.bin'
                 b'&length=%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n'
                 % (upload_token.encode(), length, length))
    sock.sendall(data)
    sock.close()


def _offsets_until_settled(api, upload_token, expected, timeout=10.0):
    """getoffset polled until it reaches ``expected`` (or ``timeout``): the values seen."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(int(api.ok('midas.upload.getoffset', uploadtoken=upload_token)['offset']))
        if seen[-1] == expected:
            break
        time.sleep(0.01)
    return seen


def test_lag_after_cut_offset_grows_after_the_cut(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id, upload_token = _upload_token(api, token, 'lag.bin')
    data = os.urandom(3 << 20)
    midas_server.faults.lag_after_cut()
    assert midas_server.faults.pending()['lag'][0]['held_bytes'] == 1 << 20
    _put_and_break(midas_server, upload_token, 4 << 20, data)
    seen = _offsets_until_settled(api, upload_token, len(data))
    assert seen == sorted(seen) and seen[-1] == len(data)
    assert seen[0] <= 2 << 20 and len(set(seen)) >= 3, seen  # it grew in steps
    assert midas_server.faults.pending()['lag'] == []
    with open(midas_server.query('SELECT path FROM uploadtoken')[0]['path'], 'rb') as partial:
        assert partial.read() == data
    rest = os.urandom(1 << 20)
    api.ok('midas.upload.perform', 'PUT', rest, uploadtoken=upload_token, filename='lag.bin',
           length=str(4 << 20))
    bitstream = api.ok('midas.item.get', token=token, id=item_id)['revisions'][-1][
        'bitstreams'][0]
    assert bitstream['checksum'] == hashlib.md5(data + rest).hexdigest()


def test_lag_after_cut_timing_over_http_and_records_meanwhile(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id, upload_token = _upload_token(api, token, 'slow.bin')
    control = midas_server.url + '/__pydas__/faults'
    assert requests.post(control, json={'action': 'lag_after_cut', 'held_bytes': 4000,
                                        'duration': 1.0, 'steps': 4}).json() == {'ok': True}
    data = os.urandom(10000)
    _put_and_break(midas_server, upload_token, 20000, data)
    seen, deadline = [], time.monotonic() + 10
    while (not seen or seen[-1] < len(data)) and time.monotonic() < deadline:
        seen.append(int(api.ok('midas.upload.getoffset', uploadtoken=upload_token)['offset']))
        # the records answer while the late writer runs
        assert api.ok('midas.item.get', token=token, id=item_id)['item_id'] == item_id
    assert {6000, 7000, 8000, 9000, 10000} <= set(seen)


def test_lag_after_cut_is_left_pending_by_a_complete_upload(midas_server):
    api = Api(midas_server)
    token = api.login()
    _, upload_token = _upload_token(api, token, 'whole.bin')
    midas_server.faults.lag_after_cut(held_bytes=100)
    api.ok('midas.upload.perform', 'PUT', b'x' * 1000, uploadtoken=upload_token,
           filename='whole.bin', length='1000')
    assert len(midas_server.faults.pending()['lag']) == 1
    with pytest.raises(ValueError):
        midas_server.faults.lag_after_cut(steps=0)


def test_resume_during_late_writes_keeps_records_consistent(midas_server):
    """A client that resumes at once, from the short offset, gets a bitstream whose
    checksum is that of the bytes stored (damaged), never a record that lies."""
    api = Api(midas_server)
    token = api.login()
    item_id, upload_token = _upload_token(api, token, 'early.bin')
    midas_server.faults.lag_after_cut(held_bytes=50000, duration=1.0, steps=5)
    data = os.urandom(100000)
    _put_and_break(midas_server, upload_token, len(data), data[:80000])
    assert poll(lambda: midas_server.query(
        "SELECT 1 FROM uploadtoken") and 30000 <= int(api.ok(
            'midas.upload.getoffset', uploadtoken=upload_token)['offset']) < 80000)
    offset = int(api.ok('midas.upload.getoffset', uploadtoken=upload_token)['offset'])
    api.ok('midas.upload.perform', 'PUT', data[offset:], uploadtoken=upload_token,
           filename='early.bin', length=str(len(data)))
    bitstream = api.ok('midas.item.get', token=token, id=item_id)['revisions'][-1][
        'bitstreams'][0]
    with open(midas_server.assetstore_file(bitstream['checksum']), 'rb') as stored:
        content = stored.read()
    assert hashlib.md5(content).hexdigest() == bitstream['checksum']
    assert int(bitstream['sizebytes']) == len(content) > len(data)
