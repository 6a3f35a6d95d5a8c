"""Bad arguments fail at the door: TypeError/ValueError naming the parameter, nothing sent."""

import pytest

import pydas
from pydas.core import Communicator
from pydas.session import Client

CALLS = [
    ('upload', (None,), {}, TypeError, 'file_pattern'),
    ('upload', (42,), {}, TypeError, 'file_pattern'),
    ('upload', ('.',), {'destination': None}, TypeError, 'destination'),
    ('upload', ('.',), {'destination': 123}, TypeError, 'destination'),
    ('upload', ('.',), {'destination': ''}, ValueError, 'destination'),
    ('upload', ('.',), {'jobs': 0}, ValueError, 'jobs'),
    ('upload', ('.',), {'jobs': '4'}, TypeError, 'jobs'),
    ('upload', ('.',), {'attempts': 0}, ValueError, 'attempts'),
    ('upload', ('.',), {'progress': 'bar'}, TypeError, 'progress'),
    ('download', (None,), {}, TypeError, 'server_path'),
    ('download', (42,), {}, TypeError, 'server_path'),
    ('download', ('',), {}, ValueError, 'server_path'),
    ('download', ('/users/A_B/Private',), {'local_path': None}, TypeError, 'local_path'),
    ('download', ('/users/A_B/Private',), {'local_path': 7}, TypeError, 'local_path'),
    ('download', ('/users/A_B/Private',), {'jobs': -1}, ValueError, 'jobs'),
    ('download_folder_recursive', ('abc',), {}, ValueError, 'folder_id'),
    ('download_folder_recursive', (None,), {}, TypeError, 'folder_id'),
    ('download_folder_recursive', (1,), {'path': 3.5}, TypeError, 'path'),
    ('login', (), {'email': 42}, TypeError, 'email'),
    ('login', (), {'url': 'midas.example.org'}, ValueError, 'url'),
    ('login', (), {'application': ''}, ValueError, 'application'),
]


@pytest.mark.parametrize('function, args, kwargs, error, parameter', CALLS)
def test_bad_argument_is_named(midas_server, function, args, kwargs, error, parameter):
    with Client(url=midas_server.url) as client:
        with pytest.raises(error) as exc_info:
            getattr(client, function)(*args, **kwargs)
    assert function in str(exc_info.value) and parameter in str(exc_info.value)
    assert midas_server.calls == []  # failed before anything was sent


def test_the_module_functions_check_too(midas_server):
    with pytest.raises(TypeError, match='file_pattern'):
        pydas.upload(None)
    with pytest.raises(TypeError, match='server_path'):
        pydas.download(42)
    assert midas_server.calls == []


def test_download_into_a_file_is_refused(midas_server, tmp_path):
    target = tmp_path / 'a-file'
    target.write_bytes(b'keep me')
    with Client(url=midas_server.url) as client:
        with pytest.raises(ValueError, match='local_path .* is not a directory'):
            client.download('/users/A_B/Private', str(target))
    assert target.read_bytes() == b'keep me'


def test_perform_upload_of_a_directory_is_refused(midas_server, tmp_path):
    with Communicator(midas_server.url) as comm:
        with pytest.raises(ValueError, match='perform_upload: filepath .* is a directory'):
            comm.perform_upload('1/2/token', 'name', filepath=str(tmp_path))
        with pytest.raises(TypeError, match='filepath'):
            comm.perform_upload('1/2/token', 'name', filepath=12)
    assert midas_server.calls == []


def test_a_lone_surrogate_in_a_name_is_refused_naming_it(midas_server):
    with Communicator(midas_server.url) as comm:
        token = comm.login_with_api_key(midas_server.admin_email, midas_server.admin_api_key)
        with pytest.raises(ValueError, match='midas.folder.create: name is not valid Unicode'):
            comm.create_folder(token, 'bad\udcff', -1)
    assert not midas_server.query("SELECT * FROM folder WHERE name LIKE 'bad%'")
