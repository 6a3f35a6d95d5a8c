"""Fixtures of the client tests: the embedded Midas server over real HTTP."""

import pytest

from pydas.core import Communicator
from pydas.transport import Retry

# Fast retries, so that tests of the retry policy take milliseconds, not seconds.
FAST_RETRY = Retry(total=2, backoff_factor=0.01, backoff_max=0.05)


@pytest.fixture
def server(midas_server):
    """The embedded server (the plugin's fixture), a fresh installation with only the admin."""
    return midas_server


@pytest.fixture
def comm(server):
    """A communicator for the server, with fast retries."""
    with Communicator(server.url, retry=FAST_RETRY) as communicator:
        yield communicator


@pytest.fixture
def token(server, comm):
    """An API token of the admin."""
    return comm.login_with_api_key(server.admin_email, server.admin_api_key)


@pytest.fixture
def ada(ada, comm):
    """The non-admin user of ``tests/conftest.py``, with her token under ``'token'``."""
    ada['token'] = comm.login_with_api_key(ada['email'], ada['api_key'])
    return ada
