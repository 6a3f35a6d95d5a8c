"""TLS: the opt-out is honoured wherever it is set, said once, and errors name the cause.

The embedded server speaks plain HTTP; ``tls_midas`` (tests/conftest.py) puts a
TLS relay with a self-signed certificate in front of it.
"""

import logging

import pytest

from pydas import exceptions
from pydas.core import Communicator
from pydas.session import Client

pytestmark = pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')


def unverified_warnings(caplog, url):
    return [record for record in caplog.records if record.levelno == logging.WARNING
            and 'verification is off' in record.getMessage() and url in record.getMessage()]


def test_certificate_checked_by_default(tls_midas, midas_server):
    with Client(url=tls_midas) as client:
        with pytest.raises(exceptions.SSLVerificationFailed) as exc_info:
            client.login(email=midas_server.admin_email, api_key=midas_server.admin_api_key)
    assert 'certificate' in str(exc_info.value) and tls_midas in str(exc_info.value)


def test_opt_out_on_the_client_survives_login(tls_midas, midas_server, caplog):
    with Client(url=tls_midas, verify_ssl_certificate=False) as client:
        client.login(email=midas_server.admin_email, api_key=midas_server.admin_api_key)
        client.communicator.list_user_folders(client.token)
        client.communicator.get_server_version()
    assert len(unverified_warnings(caplog, tls_midas)) == 1


def test_opt_out_on_the_communicator_survives_login(tls_midas, midas_server):
    with Client(url=tls_midas) as client:
        client.communicator.verify_ssl_certificate = False
        token = client.login(email=midas_server.admin_email,
                             api_key=midas_server.admin_api_key)
        assert client.communicator.list_user_folders(token)


def test_opt_out_given_to_login(tls_midas, midas_server):
    with Client() as client:
        assert client.login(email=midas_server.admin_email, api_key=midas_server.admin_api_key,
                            url=tls_midas, verify_ssl_certificate=False)


def test_ca_bundle_checks_the_certificate(tls_midas, midas_server, certificate, caplog):
    with Client(url=tls_midas, verify_ssl_certificate=certificate[0]) as client:
        client.login(email=midas_server.admin_email, api_key=midas_server.admin_api_key)
    assert unverified_warnings(caplog, tls_midas) == []


def test_https_against_plain_http_names_the_protocol(midas_server):
    url = midas_server.url.replace('http://', 'https://')
    with Communicator(url, retry=0) as comm:
        with pytest.raises(exceptions.RequestError) as exc_info:
            comm.get_server_version()
    message = str(exc_info.value)
    assert not isinstance(exc_info.value, exceptions.SSLVerificationFailed)
    assert 'did not answer in TLS' in message and 'http://' in message
    assert 'certificate' not in message and 'verify_ssl_certificate' not in message
