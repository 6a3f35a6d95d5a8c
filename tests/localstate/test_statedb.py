"""Where pydas's local databases live, and with which permissions."""

import os
import stat
import sqlite3

import pytest

from pydas import statedb, userdirs
from pydas.checksumcache import ChecksumCache
from pydas.uploadstate import UploadState

SCHEMA = ('CREATE TABLE IF NOT EXISTS things (name TEXT PRIMARY KEY)',)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_directories_follow_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'c'))
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 's'))
    assert userdirs.user_cache_dir() == str(tmp_path / 'c' / 'pydas')
    assert userdirs.user_state_dir() == str(tmp_path / 's' / 'pydas')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    # Unset, empty or relative: the defaults of the XDG specification.
    monkeypatch.delenv('XDG_CACHE_HOME')
    monkeypatch.setenv('XDG_STATE_HOME', 'relative/state')
    assert userdirs.user_cache_dir() == str(tmp_path / 'home' / '.cache' / 'pydas')
    assert userdirs.user_state_dir() == str(tmp_path / 'home' / '.local' / 'state' / 'pydas')
    monkeypatch.setenv('XDG_CACHE_HOME', '')
    assert userdirs.user_cache_dir() == str(tmp_path / 'home' / '.cache' / 'pydas')


@pytest.mark.parametrize('umask', [0o000, 0o022, 0o277])
def test_private_modes_whatever_the_umask(private_user_dirs, tmp_path, umask):
    previous = os.umask(umask)
    try:
        cache = ChecksumCache()
        cache.lookup(tmp_path, os.stat(tmp_path))
        cache.store(tmp_path, os.stat(tmp_path), 'a' * 32)
        state = UploadState()
        state.remember('http://127.0.0.1:1', tmp_path, 1, 2, 'a' * 32, 3, 'secret')
    finally:
        os.umask(previous)
    for top, database in (('cache', cache), ('state', state)):
        directory = os.path.dirname(database.path)
        while directory != str(private_user_dirs):
            assert mode(directory) == 0o700, directory
            directory = os.path.dirname(directory)
        assert os.listdir(os.path.dirname(database.path))
        for name in os.listdir(os.path.dirname(database.path)):
            assert mode(os.path.join(os.path.dirname(database.path), name)) == 0o600, name
        assert top in database.path


def test_existing_directories_are_left_alone_and_a_wide_file_is_narrowed(tmp_path):
    (tmp_path / 'shared').mkdir(mode=0o755)
    os.chmod(tmp_path / 'shared', 0o755)
    path = tmp_path / 'shared' / 'things.sqlite'
    sqlite3.connect(str(path)).close()
    os.chmod(path, 0o644)
    database = statedb.StateDB(path, SCHEMA, 'test database')
    assert database.execute('INSERT INTO things VALUES (?)', ('one',))
    assert mode(tmp_path / 'shared') == 0o755
    assert mode(path) == 0o600


def test_schema_creation_is_idempotent(tmp_path):
    for name in ('one', 'two'):
        database = statedb.StateDB(tmp_path / 'things.sqlite', SCHEMA, 'test database')
        assert database.execute('INSERT INTO things VALUES (?)', (name,))
        database.close()
    assert database.query('SELECT name FROM things ORDER BY name') == [('one',), ('two',)]
    assert database.query('PRAGMA journal_mode') == [('wal',)]


def test_a_failing_statement_disables_the_database_once(tmp_path, pydas_warnings):
    database = statedb.StateDB(tmp_path / 'things.sqlite', SCHEMA, 'test database')
    assert database.query('SELECT name FROM no_such_table') == []
    assert not database.enabled
    assert not database.execute('INSERT INTO things VALUES (?)', ('one',))
    assert pydas_warnings() == [
        'pydas test database {0} is not usable, going on without it: no such table: '
        'no_such_table'.format(database.path)]


def test_a_directory_name_that_is_not_utf8(tmp_path, monkeypatch, pydas_warnings):
    monkeypatch.setenv('XDG_CACHE_HOME', os.fsdecode(os.fsencode(str(tmp_path)) + b'/\xff'))
    cache = ChecksumCache()
    cache.store(__file__, os.stat(__file__), 'a' * 32)
    assert cache.lookup(__file__, os.stat(__file__)) == 'a' * 32
    assert os.path.exists(os.fsencode(str(tmp_path)) + b'/\xff/pydas/checksums.sqlite')
    assert cache.enabled and pydas_warnings() == []


@pytest.mark.parametrize('value, off', [
    ('off', True), ('OFF', True), ('0', True), ('false', True), ('no', True),
    ('on', False), ('1', False), ('', False), (None, False)])
def test_disabled_by_environment(monkeypatch, value, off):
    if value is None:
        monkeypatch.delenv('PYDAS_SOMETHING', raising=False)
    else:
        monkeypatch.setenv('PYDAS_SOMETHING', value)
    assert statedb.disabled_by_environment('PYDAS_SOMETHING') is off


def test_a_forked_child_opens_its_own_connection(tmp_path):
    database = statedb.StateDB(tmp_path / 'things.sqlite', SCHEMA, 'test database')
    assert database.execute('INSERT INTO things VALUES (?)', ('parent',))
    child = os.fork()
    if child == 0:
        status = 1
        try:
            if database.execute('INSERT INTO things VALUES (?)', ('child',)) and database.enabled:
                status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert database.query('SELECT name FROM things ORDER BY name') == [('child',), ('parent',)]
    assert database.query('PRAGMA integrity_check') == [('ok',)]
