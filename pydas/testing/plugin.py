"""pytest plugin of the embedded Midas server (registered as the ``pydas`` entry point).

Fixtures:

* ``midas_server_session``: one :class:`~pydas.testing.MidasServer` for the whole session.
* ``midas_server``: the same server, :meth:`~pydas.testing.MidasServer.reset` before each
  test (only the admin exists; faults and recorded calls are cleared).
"""

import pytest


@pytest.fixture(scope='session')
def midas_server_session():
    """A Midas server shared by the whole test session."""
    from pydas.testing import MidasServer
    with MidasServer() as server:
        yield server


@pytest.fixture
def midas_server(midas_server_session):
    """The session's Midas server, reset to a fresh installation for this test."""
    midas_server_session.reset()
    yield midas_server_session
    midas_server_session.faults.clear()
