"""Fixtures shared by the test directories (``midas_server`` comes from the pytest plugin
of :mod:`pydas.testing`)."""

import pytest


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
