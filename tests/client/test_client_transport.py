"""Transport: shared session, safe retries, secrets kept out of URLs and logs."""

import io
import logging

import pytest
import requests

from pydas import exceptions
from pydas.core import Communicator
from pydas.drivers import CoreDriver, TrackerDriver
from pydas.redaction import is_secret, redact_url
from pydas.transport import READ_ONLY_METHODS, Retry, Timeout

from midas_calls import calls_of, last_call


def test_503_with_retry_after_is_retried_for_read_only_method(server):
    server.faults.fail_next(count=2, status=503, method='midas.version', retry_after=0)
    with Communicator(server.url, retry=Retry(total=3, backoff_factor=10)) as comm:
        assert comm.get_server_version() == '3.4.2'  # Retry-After 0 wins over the backoff
    assert len(calls_of(server, 'midas.version')) == 3


def test_retries_are_bounded(server):
    server.faults.fail_next(count=5, status=502, method='midas.version')
    with Communicator(server.url, retry=Retry(total=2, backoff_factor=0)) as comm:
        with pytest.raises(exceptions.HTTPError) as exc_info:
            comm.get_server_version()
    assert exc_info.value.code == 502
    assert len(calls_of(server, 'midas.version')) == 3


def test_503_is_not_retried_for_write_method(server, comm, token):
    server.faults.fail_next(status=503, method='midas.folder.create', retry_after=0)
    with pytest.raises(exceptions.HTTPError) as exc_info:
        comm.create_folder(token, 'F', 1)
    assert exc_info.value.code == 503
    assert len(calls_of(server, 'midas.folder.create')) == 1


def test_application_error_is_never_retried(server, comm):
    with pytest.raises(exceptions.InvalidToken):
        comm.folder_get('bad-token-bad-token', 1)
    assert len(calls_of(server, 'midas.folder.get')) == 1


def test_upload_body_is_never_resent(server, comm, token):
    upload_token = comm.generate_upload_token(
        token, comm.create_item(token, 'I', _private(comm, token))['item_id'], 'f')
    server.faults.fail_next(status=503, method='midas.upload.perform', retry_after=0)
    with pytest.raises(exceptions.HTTPError):
        comm.perform_upload(upload_token, 'f', filepath=io.BytesIO(b'abc'))
    assert len(calls_of(server, 'midas.upload.perform')) == 1


def test_retry_after_http_date_and_backoff():
    retry = Retry(backoff_factor=0.5, backoff_max=3, retry_after_max=60)
    assert [retry.delay(n) for n in range(4)] == [0.5, 1.0, 2.0, 3]
    assert retry.delay(0, '7') == 7
    assert retry.delay(0, '999') == 60
    assert retry.delay(0, 'Wed, 21 Oct 2015 07:28:00 GMT') == 0


def test_read_only_table():
    assert 'midas.item.get' in READ_ONLY_METHODS
    assert 'midas.upload.perform' not in READ_ONLY_METHODS
    assert 'midas.folder.create' not in READ_ONLY_METHODS


def test_one_session_for_all_drivers(server):
    session = requests.Session()
    with Communicator(server.url, session=session, timeout=5) as comm:
        transports = {id(driver.transport) for driver in comm.drivers}
        assert len(transports) == 1 and comm.session is session
        assert comm.drivers[0].transport.timeout.as_requests() == (5, 5)
        comm.get_server_version()
    # a caller's session is the caller's to close; ours was used
    assert session.adapters['http://'].poolmanager.pools


def test_calls_reuse_one_connection(server):
    comm = Communicator(server.url)
    with comm:
        comm.get_server_version()
        comm.list_modules()
        comm.list_users()
        pools = comm.session.adapters['http://'].poolmanager.pools
        assert len(pools) == 1 and pools[next(iter(pools.keys()))].num_connections == 1
    assert len(comm.session.adapters['http://'].poolmanager.pools) == 0  # closed on exit


def test_communicator_surface(server):
    with Communicator(server.url) as comm:
        assert len(comm.drivers) == 7
        assert {'folder_get', 'add_scalar_data', 'mfa_otp_login', 'solr_advanced_search',
                'extract_dicommetadata', 'create_small_thumbnail',
                'add_condor_dag'} <= set(dir(comm))
        comm.debug = True
        comm.verify_ssl_certificate = False
        comm.set_auth(('u', 'p'))
        assert comm.debug and not comm.verify_ssl_certificate
        assert all(d.debug and d.auth == ('u', 'p') for d in comm.drivers)
        comm.url = 'http://example.invalid/midas/'
        assert all(d.full_url == 'http://example.invalid/midas/api/json?method='
                   for d in comm.drivers)
        with pytest.raises(AttributeError):
            comm.no_such_method


def test_custom_drivers_and_default_timeout(server):
    with Communicator(server.url, drivers=[TrackerDriver(server.url)]) as comm:
        assert hasattr(comm, 'add_scalar_data') and not hasattr(comm, 'folder_get')
        assert comm.drivers[0].transport.timeout.as_requests() == (10.0, 300.0)


def test_standalone_driver(server):
    driver = CoreDriver(server.url)
    assert driver.get_server_version() == '3.4.2'
    assert isinstance(driver.transport.timeout, Timeout)


def _private(comm, token):
    return [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]['folder_id']


def test_no_secret_in_urls_or_logs(server, comm, caplog):
    caplog.set_level(logging.DEBUG)
    comm.debug = True
    api_key = comm.get_default_api_key(server.admin_email, server.admin_password)
    token = comm.login_with_api_key(server.admin_email, api_key)
    item_id = comm.create_item(token, 'I', _private(comm, token))['item_id']
    upload_token = comm.generate_upload_token(token, item_id, 'f.txt')
    comm.perform_upload(upload_token, 'f.txt', filepath=io.BytesIO(b'content'))
    filename, chunks = comm.download_item(item_id, token)
    assert b''.join(chunks) == b'content'
    with pytest.raises(exceptions.InvalidUploadToken):
        comm.perform_upload(upload_token, 'f.txt', filepath=io.BytesIO(b'content'))
    secrets = [server.admin_password, api_key, token, upload_token]
    for call in server.calls:
        if call.method == 'midas.upload.perform':
            # the protocol puts the upload token (and only it) in the query string
            assert set(call.query) & {'token', 'password', 'apikey'} == set()
            continue
        if call.method is None:
            # the download controller: Midas's redirect carries authToken (its protocol)
            assert set(call.query) - {'items', 'authToken'} == set()
            continue
        for secret in secrets:
            assert secret not in ''.join('%s=%s' % kv for kv in call.query.items())
    logged = '\n'.join(record.getMessage() for record in caplog.records)
    assert 'midas.login' in logged and 'midas.item.download' in logged
    assert '<redacted>' in logged
    for secret in secrets:
        assert secret not in logged
        assert requests.utils.quote(secret, safe='') not in logged
    pydas_records = [r for r in caplog.records if r.name == 'pydas']
    assert all(r.levelno == logging.INFO for r in pydas_records)


def test_not_logged_at_info_without_debug(server, comm, caplog):
    caplog.set_level(logging.INFO, logger='pydas')
    comm.get_server_version()
    assert not [r for r in caplog.records if r.name == 'pydas']


def test_download_follows_redirect_itself(server, comm, token):
    item_id = comm.create_item(token, 'I', _private(comm, token))['item_id']
    comm.perform_upload(comm.generate_upload_token(token, item_id, 'a.txt'), 'a.txt',
                        filepath=io.BytesIO(b'abc'))
    filename, chunks = comm.download_item(item_id, token)
    assert (filename, b''.join(chunks)) == ('a.txt', b'abc')
    call = last_call(server, 'midas.item.download')
    assert call.verb == 'POST' and call.query == {'method': 'midas.item.download'}


def test_redact_url():
    url = 'http://h/download/?items=1&authToken=SECRET&uploadtoken=1%2F2%2Fabc&name=x'
    assert redact_url(url) == ('http://h/download/?items=1&authToken=<redacted>'
                               '&uploadtoken=<redacted>&name=x')


def test_set_auth_is_sent_and_no_cookie_is_kept(server, comm):
    comm.set_auth(('proxy-user', 'proxy-pass'))
    comm.get_server_version()
    assert last_call(server, 'midas.version').headers['Authorization'].startswith('Basic ')
    assert len(comm.session.cookies) == 0


def test_environment_is_read_once_per_server_for_an_own_session(server, monkeypatch):
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    monkeypatch.setenv('HTTP_PROXY', 'http://proxy.invalid:3128')
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/ssl/bundle.pem')
    reads = []
    real = requests.utils.get_environ_proxies

    def counting(url, no_proxy=None):
        reads.append(url)
        return real(url, no_proxy)
    monkeypatch.setattr(requests.utils, 'get_environ_proxies', counting)
    with Communicator(server.url) as comm:
        for _ in range(3):
            comm.get_server_version()
        assert comm.session.trust_env is False
        assert reads == [server.url + '/']
        # What requests would have taken from the environment is still applied.
        proxies, _, ca_bundle = comm._transport._environments[server.url]
        assert proxies == requests.utils.get_environ_proxies(server.url)
        assert ca_bundle == '/etc/ssl/bundle.pem'
    from pydas.transport import _environment
    assert _environment('http://example.org')[0]['http'] == 'http://proxy.invalid:3128'


def test_a_callers_session_keeps_reading_the_environment(server):
    session = requests.Session()
    with Communicator(server.url, session=session) as comm:
        comm.get_server_version()
    assert session.trust_env is True
    session.close()


def masked(params):
    """``params`` without the values of secrets (a reset server hands out new ones)."""
    return {name: '*' if is_secret(name) else value for name, value in params.items()}


def test_own_session_and_callers_session_send_the_same_requests(server, tmp_path):
    """Our session's calls skip Session.request; the server must not see a difference."""
    empty = tmp_path / 'empty.bin'
    empty.write_bytes(b'')
    seen = {}
    for name, session in (('own', None), ('caller', requests.Session())):
        server.reset()
        with Communicator(server.url, session=session) as comm:
            token = comm.login_with_api_key(server.admin_email, server.admin_api_key)
            private = [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]
            folder = comm.create_folder(token, 'Grüße & a+b=c', private['folder_id'],
                                        description='x y', reuse_existing=None)
            item = comm.create_item(token, 'e', folder['folder_id'])
            upload_token = comm.generate_upload_token(token, item['item_id'], 'e b.bin')
            comm.perform_upload(upload_token, 'e b.bin', filepath=str(empty))
            bitstream = comm.item_get(token, item['item_id'])['revisions'][-1]['bitstreams'][0]
            assert b''.join(comm.stream_bitstream(bitstream['bitstream_id'], token)[1]) == b''
        if session is not None:
            session.close()
        seen[name] = [(call.verb, call.method, masked(call.query), masked(call.form),
                       {header: call.headers.get(header)
                        for header in ('Content-Type', 'Content-Length', 'Transfer-Encoding')})
                      for call in server.calls]
    assert seen['own'] == seen['caller']
    assert folder['name'] == 'Grüße & a+b=c' and int(bitstream['sizebytes']) == 0


def test_changes_to_the_own_session_are_honoured(server, comm):
    hooked = []
    comm.session.headers['X-Pipeline'] = 'nightly'
    comm.get_server_version()
    assert last_call(server, 'midas.version').headers['X-Pipeline'] == 'nightly'
    comm.session.hooks['response'].append(lambda response, **kwargs: hooked.append(response))
    comm.session.auth = ('proxy-user', 'proxy-pass')
    comm.list_modules()
    assert last_call(server, 'midas.modules.list').headers['Authorization'].startswith('Basic ')
    assert len(hooked) == 1
