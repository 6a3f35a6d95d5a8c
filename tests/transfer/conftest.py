"""Fixtures of the transfer tests: a user with a logged-in client (``midas_server`` comes
from the pytest plugin of :mod:`pydas.testing`)."""

import pytest

from pydas.session import Client


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
