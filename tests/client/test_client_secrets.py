"""No secret in what a failing call raises: message, chain, printed traceback, copies.

Besides these error paths, every test of the suite is checked by the
``no_secret_in_exceptions`` fixture (tests/conftest.py, tests/secret_scan.py).
"""

import os

import pytest
import requests

from pydas import exceptions, transport
from pydas.core import Communicator
from pydas.redaction import REDACTED
from secret_scan import leaks

from .test_client_errors import free_port

TOKEN = 'token-that-must-stay-secret-0123456789'


def private_folder(comm, token):
    return [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]['folder_id']


def test_the_scan_finds_a_secret_in_a_cause():
    try:
        try:
            raise requests.exceptions.ConnectionError('url: /download/?authToken=' + TOKEN)
        except requests.exceptions.ConnectionError as cause:
            raise RuntimeError('wrapped') from cause
    except RuntimeError as error:
        assert TOKEN in leaks(error, [TOKEN])
        assert leaks(error) == ['?authToken=' + TOKEN]  # also unknown to the scan


def test_refused_download_keeps_auth_token_out_of_the_chain():
    with Communicator('http://127.0.0.1:%d' % free_port(), retry=0) as comm:
        with pytest.raises(exceptions.RequestError) as exc_info:
            comm.stream_bitstream(1, token=TOKEN)
    error = exc_info.value
    assert isinstance(error.__cause__, requests.exceptions.ConnectionError)  # still chained
    assert 'authToken=' + REDACTED in str(error.__cause__)
    assert 'authToken=' + REDACTED in error.request.url
    assert leaks(error, [TOKEN]) == []


def test_cut_upload_keeps_upload_token_out(server, comm, token, tmp_path):
    item_id = comm.create_item(token, 'big', private_folder(comm, token))['item_id']
    upload_token = comm.generate_upload_token(token, item_id, 'big.bin')
    path = tmp_path / 'big.bin'
    path.write_bytes(os.urandom(2 * 1024 * 1024))
    server.faults.cut_request(100000, method='midas.upload.perform')
    with pytest.raises(exceptions.RequestError) as exc_info:
        comm.perform_upload(upload_token, 'big.bin', filepath=str(path))
    error = exc_info.value
    assert error.request.method == 'PUT'
    assert 'uploadtoken=' + REDACTED in error.request.url
    assert leaks(error, [upload_token, token]) == []


def test_wrong_password_is_not_in_the_request_copy(server, comm):
    with pytest.raises(exceptions.InvalidParameter) as exc_info:
        comm.get_default_api_key(server.admin_email, 'not-the-password-42')
    error = exc_info.value
    assert 'password=' + REDACTED in error.request.body
    assert server.admin_email.replace('@', '%40') in error.request.body  # the rest is kept
    assert leaks(error, ['not-the-password-42']) == []


def test_cut_login_answer_keeps_api_key_and_token_out(server):
    server.faults.cut_response(20, method='midas.login')
    with Communicator(server.url, retry=0) as comm:
        with pytest.raises(exceptions.RequestError) as exc_info:
            comm.login_with_api_key(server.admin_email, server.admin_api_key)
    error = exc_info.value
    assert 'in the middle of the answer' in str(error)
    tokens = [row['token'] for row in server.query('SELECT token FROM token')]
    assert leaks(error, [server.admin_api_key] + tokens) == []


def test_refused_redirect_keeps_auth_token_out(server, comm, token, tmp_path):
    path = tmp_path / 'f.txt'
    path.write_bytes(b'content')
    item_id = comm.create_item(token, 'f.txt', private_folder(comm, token))['item_id']
    comm.perform_upload(comm.generate_upload_token(token, item_id, 'f.txt'), 'f.txt',
                        filepath=str(path))
    bitstream_id = comm.item_get(token, item_id)['revisions'][-1]['bitstreams'][0][
        'bitstream_id']
    server.faults.fail_next(status=404, method='download')
    with pytest.raises(exceptions.NotFound) as exc_info:
        comm.download_bitstream(bitstream_id, token=token)[1].close()
    error = exc_info.value
    assert 'authToken=' + REDACTED in error.response.url
    assert leaks(error, [token]) == []


def test_http_credentials_are_redacted(server, comm):
    comm.set_auth(('proxy-user', 'proxy-password-42'))
    with pytest.raises(exceptions.InvalidParameter) as exc_info:
        comm.get_default_api_key(server.admin_email, 'wrong-password-42')
    error = exc_info.value
    assert error.request.headers['Authorization'] == REDACTED
    assert leaks(error, ['wrong-password-42']) == []


def test_an_undecodable_answer_does_not_show_its_bytes(server, comm, monkeypatch):
    # No Midas server answers so (a broken proxy might): the answer's bytes are replaced.
    def answer_with_a_secret(response, api_method, secrets=()):
        response._content = b'{"token": "' + TOKEN.encode() + b'", "x": "\xff"}'
        return original(response, api_method, secrets)
    original = transport.parse_envelope
    monkeypatch.setattr('pydas.drivers.parse_envelope', answer_with_a_secret)
    with pytest.raises(exceptions.ParseError) as exc_info:
        comm.get_server_version()
    assert isinstance(exc_info.value.__cause__, UnicodeDecodeError)
    assert leaks(exc_info.value, [TOKEN]) == []
