"""Failures are mapped to the exception tree, with messages a person can act on."""

import socket
import ssl
import threading

import pytest
import requests

from pydas import exceptions
from pydas.core import Communicator
from pydas.transport import Retry, Timeout

from .helpers import last_call, serve_once


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def check(exc_info, cls, method, code=None):
    """Common checks: class, attributes, and a message naming the method and code."""
    exc = exc_info.value
    assert type(exc) is cls
    assert exc.method == method and exc.code == code
    assert method in str(exc)
    if code is not None:
        assert str(code) in str(exc)
    return exc


def test_bad_token(comm):
    with pytest.raises(exceptions.InvalidToken) as exc_info:
        comm.list_user_folders('not-a-valid-token-at-all')
    exc = check(exc_info, exceptions.InvalidToken, 'midas.user.folders', -101)
    assert 'Invalid token' in str(exc)
    assert 'not-a-valid-token-at-all' not in str(exc)
    assert exc.response.status_code == 200 and exc.request is not None


def test_expired_token(server, comm, token):
    server.expire_tokens()
    with pytest.raises(exceptions.InvalidToken):
        comm.folder_get(token, 1)


def test_missing_parameter(comm, token):
    with pytest.raises(exceptions.InvalidParameter) as exc_info:
        comm.create_folder(token, None, 1)
    exc = check(exc_info, exceptions.InvalidParameter, 'midas.folder.create', -150)
    assert 'name' in str(exc)


def test_unknown_id(comm, token):
    with pytest.raises(exceptions.InvalidPolicy) as exc_info:
        comm.item_get(token, 99999)
    check(exc_info, exceptions.InvalidPolicy, 'midas.item.get', -151)


def test_no_permission(comm, token, ada):
    private_id = [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]
    with pytest.raises(exceptions.InvalidPolicy):
        comm.create_item(ada['token'], 'intruder', private_id['folder_id'])


def test_unknown_method(comm):
    with pytest.raises(exceptions.InvalidToken) as exc_info:
        comm.request('midas.no.such.method')
    exc = check(exc_info, exceptions.InvalidToken, 'midas.no.such.method', -101)
    assert 'does not exist' in str(exc)


def test_failed_login_says_so(server, comm):
    with pytest.raises(exceptions.ResponseError) as exc_info:
        comm.login_with_api_key(server.admin_email, 'WrongKeyWrongKeyWrongKey')
    exc = check(exc_info, exceptions.ResponseError, 'midas.login', 0)
    assert 'login failed' in str(exc) and 'API key' in str(exc)
    assert 'WrongKeyWrongKeyWrongKey' not in str(exc)


def test_wrong_password(server, comm):
    with pytest.raises(exceptions.InvalidParameter) as exc_info:
        comm.get_default_api_key(server.admin_email, 'not-the-password')
    assert 'not-the-password' not in str(exc_info.value)


def test_server_down():
    url = 'http://127.0.0.1:%d' % free_port()
    with Communicator(url, retry=0) as comm:
        with pytest.raises(exceptions.RequestError) as exc_info:
            comm.get_server_version()
    exc = exc_info.value
    assert isinstance(exc, requests.exceptions.ConnectionError)
    assert exc.method == 'midas.version' and 'could not connect' in str(exc)
    assert isinstance(exc.__cause__, requests.exceptions.ConnectionError)


def test_non_json_answer(server, comm):
    server.faults.fail_next(status=200, method='midas.version', html=True)
    with pytest.raises(exceptions.ParseError) as exc_info:
        comm.get_server_version()
    assert isinstance(exc_info.value, ValueError)
    assert isinstance(exc_info.value.__cause__, ValueError)
    assert 'JSON' in str(exc_info.value)


def test_http_error_status(server, comm, token):
    server.faults.fail_next(status=500, method='midas.folder.create', html=True)
    with pytest.raises(exceptions.HTTPError) as exc_info:
        comm.create_folder(token, 'F', 1)
    assert exc_info.value.code == 500 and 'HTTP 500' in str(exc_info.value)


def test_timeout(server):
    server.faults.delay(2, method='midas.version')
    with Communicator(server.url, timeout=Timeout(connect=5, read=0.2), retry=0) as comm:
        with pytest.raises(exceptions.RequestError) as exc_info:
            comm.get_server_version()
    assert 'read timeout' in str(exc_info.value)


def test_read_timeout_is_not_retried_even_for_read_only(server):
    server.faults.delay(1, count=3, method='midas.version')
    retry = Retry(total=2, backoff_factor=0)
    with Communicator(server.url, timeout=Timeout(read=0.2), retry=retry) as comm:
        with pytest.raises(exceptions.RequestError):
            comm.get_server_version()
    assert len([c for c in server.calls if c.method == 'midas.version']) == 1


@pytest.fixture
def tls_server(certificate):
    """A TLS server with a self-signed certificate on 127.0.0.1; yields its URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    listener = socket.create_server(('127.0.0.1', 0))
    listener.settimeout(10)
    body = b'{"code":"0","data":{"version":"3.4.2"},"message":"","stat":"ok"}'
    answer = (b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n'
              b'Content-Length: %d\r\n\r\n%s' % (len(body), body))

    def serve():
        for _ in range(2):  # the refused handshake, then the accepted call
            try:
                conn, _ = listener.accept()
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    tls.sendall(answer)
            except (OSError, ssl.SSLError):
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield 'https://127.0.0.1:%d' % listener.getsockname()[1]
    listener.close()
    thread.join(10)


@pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')
def test_tls_verification_failure(tls_server):
    with Communicator(tls_server, retry=0) as comm:
        with pytest.raises(exceptions.SSLVerificationFailed) as exc_info:
            comm.get_server_version()
        assert 'certificate' in str(exc_info.value)
        assert exc_info.value.method == 'midas.version'
        comm.verify_ssl_certificate = False
        assert comm.get_server_version() == '3.4.2'


def test_upload_token_not_in_message(server, comm, token):
    private_id = [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]
    item_id = comm.create_item(token, 'I', private_id['folder_id'])['item_id']
    real = comm.generate_upload_token(token, item_id, 'f')
    bogus = real[:-8] + 'x' * 8
    with pytest.raises(exceptions.InvalidUploadToken) as exc_info:
        comm.perform_upload(bogus, 'f', filepath=__file__)
    assert bogus not in str(exc_info.value)
    assert last_call(server, 'midas.upload.perform').query['uploadtoken'] == bogus


BAD = 'bad-token-bad-token-bad-token-00'

# Every driver method that resolves the caller, called with an unknown token.
TOKEN_CALLS = [
    ('list_user_folders', (BAD,), {}),
    ('create_community', (BAD, 'C'), {}),
    ('get_community_by_name', ('C', BAD), {}),
    ('get_community_by_id', (1, BAD), {}),
    ('get_community_children', (1, BAD), {}),
    ('list_communities', (BAD,), {}),
    ('create_folder', (BAD, 'F', 1), {}),
    ('folder_get', (BAD, 1), {}),
    ('folder_children', (BAD, 1), {}),
    ('delete_folder', (BAD, 1), {}),
    ('move_folder', (BAD, 1, 2), {}),
    ('create_item', (BAD, 'I', 1), {}),
    ('item_get', (BAD, 1), {}),
    ('download_item', (1, BAD), {}),
    ('delete_item', (BAD, 1), {}),
    ('get_item_metadata', (1, BAD), {}),
    ('set_item_metadata', (BAD, 1, 'e', 'v'), {}),
    ('share_item', (BAD, 1, 2), {}),
    ('move_item', (BAD, 1, 2, 3), {}),
    ('search_item_by_name', ('n', BAD), {}),
    ('search_item_by_name_and_folder', ('n', 1, BAD), {}),
    ('search_item_by_name_and_folder_name', ('n', 'F', BAD), {}),
    ('create_link', (BAD, 1, 'http://example.org/x'), {}),
    ('generate_upload_token', (BAD, 1, 'f'), {}),
    ('bitstream_get', (BAD, 1), {}),
    ('download_bitstream', (1, BAD), {}),
    ('search', ('q', BAD), {}),
    ('add_condor_dag', (BAD, 1, 'd', 'o'), {}),
    ('add_condor_job', (BAD, 1, 'j', 'o', 'e', 'l', 'p'), {}),
    ('extract_dicommetadata', (BAD, 1), {}),
    ('solr_advanced_search', ('q', BAD), {}),
    ('create_big_thumbnail', (BAD, 1, 1), {}),
    ('create_small_thumbnail', (BAD, 1), {}),
    ('add_scalar_data', (BAD, 1, 'p', 'm', 'r', '2020-01-01', 1),
     {'submission_uuid': 'u'}),
    ('associate_item_with_scalar_data', (BAD, 1, None, 'l'), {'submission_uuid': 'u'}),
    ('create_submission', (BAD,), dict(community_id=1, producer_display_name='p',
                                       producer_revision='r', branch='b',
                                       submit_time='2020-01-01')),
]


@pytest.mark.parametrize('name, args, kwargs', TOKEN_CALLS, ids=[c[0] for c in TOKEN_CALLS])
def test_every_method_with_a_bad_token(server, comm, name, args, kwargs):
    with pytest.raises(exceptions.InvalidToken) as exc_info:
        getattr(comm, name)(*args, **kwargs)
    assert 'Invalid token' in str(exc_info.value)
    assert BAD not in str(exc_info.value)


def test_an_answer_cut_in_its_headers_is_a_broken_connection_not_a_crash():
    """A connection broken after "Content-Type: application/json; charset" (no "="):
    requests' charset guess would raise AttributeError on it, and http.client takes the
    end of the stream for the end of the headers."""
    url = serve_once(b'HTTP/1.1 200 OK\r\nContent-Type: application/json; charset')
    with Communicator(url, retry=0) as communicator:
        with pytest.raises(exceptions.RequestError) as exc_info:
            communicator.get_server_version()
    assert 'broke in the middle of the answer' in str(exc_info.value)
