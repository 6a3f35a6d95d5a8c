"""Fixtures shared by the test directories (``midas_server`` comes from the pytest plugin
of :mod:`pydas.testing`)."""

import pytest


@pytest.fixture
def ada(midas_server):
    """A regular user, Ada Lovelace (the dict of ``server.add_user``)."""
    return midas_server.add_user('ada@example.org', 'correct horse', 'Ada', 'Lovelace')
