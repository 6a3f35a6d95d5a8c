"""Fixtures of the transfer tests: a user with a logged-in client, local trees."""

import pytest

from pydas.session import Client
from pydas.testing import MidasServer, plugin

if not hasattr(plugin, 'midas_server'):
    # The pytest plugin of pydas.testing provides this fixture; until it does:
    @pytest.fixture(scope='session')
    def _transfer_server():
        with MidasServer() as server:
            yield server

    @pytest.fixture
    def midas_server(_transfer_server):
        _transfer_server.reset()
        return _transfer_server


@pytest.fixture
def user(midas_server):
    """A user Ada Lovelace (dict of server.add_user)."""
    return midas_server.add_user('ada@example.org', 'analytical', 'Ada', 'Lovelace')


@pytest.fixture
def client(midas_server, user):
    """A client logged in as Ada."""
    with Client(url=midas_server.url) as logged_in:
        logged_in.login(email=user['email'], api_key=user['api_key'])
        yield logged_in
