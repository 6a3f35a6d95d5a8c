"""Fixtures shared by the test directories (``midas_server`` comes from the pytest plugin
of :mod:`pydas.testing`)."""

import shutil
import socket
import ssl
import subprocess
import sys
import threading

import pytest

from pydas.exceptions import PydasException
from secret_scan import leaks, server_secrets


@pytest.fixture
def ada(midas_server):
    """A regular user, Ada Lovelace (the dict of ``server.add_user``)."""
    return midas_server.add_user('ada@example.org', 'correct horse', 'Ada', 'Lovelace')


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path_factory, monkeypatch):
    """Point the user's cache and state directories into a fresh temporary directory, so that
    no test writes to the real home (subprocesses inherit the environment)."""
    base = tmp_path_factory.mktemp('xdg')
    monkeypatch.setenv('XDG_CACHE_HOME', str(base / 'cache'))
    monkeypatch.setenv('XDG_STATE_HOME', str(base / 'state'))
    monkeypatch.delenv('PYDAS_CHECKSUM_CACHE', raising=False)
    monkeypatch.delenv('PYDAS_UPLOAD_STATE', raising=False)
    return base


@pytest.fixture(autouse=True)
def no_secret_in_exceptions(request, monkeypatch):
    """Fail a test if an exception pydas created during it shows one of its secrets.

    See :mod:`secret_scan`; the secrets are those the embedded server received
    or issued (for tests that use it), and unredacted secret parameters anywhere.
    """
    created = []
    original_init = PydasException.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(PydasException, '__init__', recording_init)
    server = (request.getfixturevalue('midas_server')
              if 'midas_server' in request.fixturenames else None)
    yield created
    monkeypatch.undo()
    secrets = server_secrets(server) if server is not None else ()
    found = {repr(error): leaks(error, secrets) for error in created}
    found = {error: secrets for error, secrets in found.items() if secrets}
    assert not found, 'secrets shown by exceptions: %r' % found


def _pump(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def certificate(tmp_path):
    """``(certificate, key)`` files of a self-signed certificate for IP 127.0.0.1."""
    if shutil.which('openssl') is None:
        pytest.skip('openssl is not installed')
    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(key), '-out', str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture
def tls_midas(midas_server, certificate):
    """The ``https://`` URL of a TLS relay (with ``certificate``) to the embedded server.

    The server builds its redirects with ``http://``: downloads through it fail.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    listener = socket.create_server(('127.0.0.1', 0))
    upstream = midas_server.url.split('//')[1].split(':')
    threads = []

    def relay(conn):
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):  # a refused certificate ends the handshake
            conn.close()
            return
        server = socket.create_connection((upstream[0], int(upstream[1])))
        back = threading.Thread(target=_pump, args=(server, tls), daemon=True)
        back.start()
        _pump(tls, server)
        back.join(10)
        tls.close()
        server.close()

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            thread = threading.Thread(target=relay, args=(conn,), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    yield 'https://127.0.0.1:%d' % listener.getsockname()[1]
    if sys.platform.startswith('linux'):
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept
    listener.close()
    acceptor.join(10)
    for thread in threads:
        thread.join(10)
