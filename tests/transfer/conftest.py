"""Fixtures of the transfer tests: a client logged in as ``ada`` (of ``tests/conftest.py``)."""

import pytest

from pydas.session import Client


@pytest.fixture
def client(midas_server, ada):
    """A client logged in as Ada."""
    with Client(url=midas_server.url) as logged_in:
        logged_in.login(email=ada['email'], api_key=ada['api_key'])
        yield logged_in
