"""Fixtures shared by the test directories (``midas_server`` comes from the pytest plugin
of :mod:`pydas.testing`)."""

import pytest

from pydas.exceptions import PydasException
from secret_scan import leaks, server_secrets


@pytest.fixture
def ada(midas_server):
    """A regular user, Ada Lovelace (the dict of ``server.add_user``)."""
    return midas_server.add_user('ada@example.org', 'correct horse', 'Ada', 'Lovelace')


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
