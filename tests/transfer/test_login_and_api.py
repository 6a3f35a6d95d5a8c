"""Logging in (prompts, API keys, second factor) and the module-level API of old scripts."""

import inspect
import os

import pytest

import pydas.api
import pydas.exceptions
import pydas.session
from pydas.session import Client

from midas_calls import calls_of

from .helpers import read_tree, write_tree


@pytest.fixture
def default_client(monkeypatch):
    """A fresh default client for the module-level functions."""
    fresh = Client()
    monkeypatch.setattr(pydas.session, 'default_client', fresh)
    yield fresh
    fresh.close()


@pytest.fixture
def prompts(monkeypatch):
    """Answers to terminal prompts (prompt -> answer); records the prompts asked."""
    answers = {}
    asked = []

    def answer(prompt=''):
        asked.append(prompt)
        value = answers[prompt]
        return value() if callable(value) else value
    monkeypatch.setattr(pydas.session, 'input', answer)
    monkeypatch.setattr(pydas.session.getpass, 'getpass', answer)
    answers['asked'] = asked
    return answers


def test_login_asks_for_everything_missing(midas_server, ada, default_client, prompts):
    prompts.update({'Server URL: ': midas_server.url + '/', 'Email: ': ada['email'],
                    'Password: ': ada['password']})

    token = pydas.api.login()

    assert prompts['asked'] == ['Server URL: ', 'Email: ', 'Password: ']
    assert token and token == pydas.session.token == default_client.token
    assert pydas.session.communicator.url == midas_server.url
    assert pydas.session.email == ada['email']
    assert pydas.session.api_key == ada['api_key']
    assert pydas.session.application == 'Default'
    assert midas_server.query('SELECT * FROM token WHERE token = ?', token)
    apikey_calls = calls_of(midas_server, 'midas.user.apikey.default')
    assert ada['password'] not in str([call.query for call in apikey_calls])


def test_login_with_api_key_asks_nothing(midas_server, ada, default_client, prompts):
    token = pydas.api.login(email=ada['email'], api_key=ada['api_key'], url=midas_server.url)
    assert prompts['asked'] == []
    assert pydas.api.verify_credentials() == token
    assert pydas.api.renew_token() == token  # Midas hands out the same unexpired token


def test_login_with_a_second_factor(midas_server, default_client, prompts):
    mfa_user = midas_server.add_user('grace@example.org', 'cobol', 'Grace', 'Hopper', mfa=True)
    prompts['One-Time Password: '] = lambda: midas_server.totp(mfa_user['email'])

    token = pydas.api.login(email=mfa_user['email'], password='cobol', url=midas_server.url)

    assert prompts['asked'] == ['One-Time Password: ']
    assert len(calls_of(midas_server, 'midas.mfa.otp.login')) == 1
    assert midas_server.query('SELECT * FROM token WHERE token = ?', token)
    assert default_client.communicator.list_user_folders(token)


def test_wrong_password_fails(midas_server, ada, default_client):
    with pytest.raises(pydas.exceptions.PydasException):
        pydas.api.login(email=ada['email'], password='wrong', url=midas_server.url)
    assert pydas.session.token is None


def test_module_state_is_shared_with_the_default_client(default_client):
    pydas.session.token = 'abc'
    assert default_client.token == 'abc'
    pydas.api.allow_existing_download_paths()
    assert pydas.session.allow_existing_download_paths is True
    callback = object()
    pydas.api.add_item_upload_callback(callback)
    pydas.api.add_item_download_callback(callback)
    pydas.api.add_folder_download_callback(callback)
    assert pydas.session.item_upload_callbacks == [callback]
    assert pydas.session.item_download_callbacks == [callback]
    assert pydas.session.folder_download_callbacks == [callback]


def test_old_script_round_trip(midas_server, ada, default_client, tmp_path):
    write_tree(str(tmp_path / 'up' / 'data'), {'scan.nrrd': b'scan', 'sub/notes': b'notes'})
    pydas.api.login(email=ada['email'], api_key=ada['api_key'], url=midas_server.url)
    pydas.api.upload(str(tmp_path / 'up' / 'dat*'), 'Public')
    folder_id = [folder['folder_id'] for folder in pydas.session.communicator.folder_children(
        pydas.session.token, ada['folder_id'])['folders'] if folder['name'] == 'Public'][0]

    pydas.api.download('/users/Ada_Lovelace/Public/data', str(tmp_path / 'by-path'))
    pydas.api.download_folder_recursive(folder_id, str(tmp_path / 'by-id'))

    assert read_tree(str(tmp_path / 'by-path')) == read_tree(str(tmp_path / 'up'))
    assert read_tree(str(tmp_path / 'by-id' / 'Public')) == read_tree(str(tmp_path / 'up'))


def test_several_clients_are_independent(midas_server, ada, tmp_path):
    other = midas_server.add_user('alan@example.org', 'enigma', 'Alan', 'Turing')
    write_tree(str(tmp_path), {'f.txt': b'f'})
    with Client(url=midas_server.url) as ada_client, Client(url=midas_server.url) as alan:
        ada_client.login(email=ada['email'], api_key=ada['api_key'])
        alan.login(email=other['email'], password='enigma')
        assert ada_client.token != alan.token
        alan.upload(str(tmp_path / 'f.txt'))
        with pytest.raises(pydas.exceptions.ServerPathNotFound):
            ada_client.download('/users/Alan_Turing/Private/f.txt', str(tmp_path / 'down'))
    assert not os.path.exists(str(tmp_path / 'down' / 'f.txt'))


ORIGINAL_SIGNATURES = {
    'login': "(email=None, password=None, api_key=None, application='Default', url=None, "
             "verify_ssl_certificate=True",
    'renew_token': '()',
    'verify_credentials': '()',
    'upload': "(file_pattern, destination='Private', leaf_folders_as_items=False, "
              "reuse_existing=False",
    'download': "(server_path, local_path='.'",
    'download_folder_recursive': "(folder_id, path='.'",
    'add_item_upload_callback': '(callback)',
    'add_item_download_callback': '(callback)',
    'add_folder_download_callback': '(callback)',
    'allow_existing_download_paths': '()',
}


@pytest.mark.parametrize('name', sorted(ORIGINAL_SIGNATURES))
def test_original_signatures_are_kept(name):
    signature = str(inspect.signature(getattr(pydas.api, name)))
    assert signature.startswith(ORIGINAL_SIGNATURES[name])
    extra = signature[len(ORIGINAL_SIGNATURES[name]):]
    assert extra in ('', ')') or extra.startswith(', **')


def test_download_of_a_relative_path_is_an_error(client, tmp_path):
    with pytest.raises(pydas.exceptions.ServerPathNotFound):
        client.download('Private/x', str(tmp_path))
    assert os.listdir(str(tmp_path)) == []
