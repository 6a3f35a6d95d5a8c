"""``pydas info``, ``ls``, help, version and error reporting."""

import io
import json
import shutil
import subprocess

import pytest

import pydas

COMMANDS = ['login', 'logout', 'info', 'ls', 'upload', 'download', 'serve', 'demo']


def test_version(cli):
    result = cli('--version')

    assert result.returncode == 0
    assert result.stdout.strip() == 'pydas {0}'.format(pydas.__version__)


@pytest.mark.parametrize('command', COMMANDS)
def test_every_command_has_help(cli, command):
    result = cli(command, '--help')

    assert result.returncode == 0, result.stderr
    assert 'usage:' in result.stdout


def test_usage_errors_exit_with_status_2(cli):
    for arguments in (['no-such-command'], ['upload'], ['upload', 'x', '--jobs', '0'], []):
        result = cli(*arguments)
        assert result.returncode == 2, arguments
        assert 'usage:' in result.stderr


def test_installed_script_runs(cli):
    script = shutil.which('pydas')
    assert script, 'the pydas console script is not installed'

    result = subprocess.run([script, '--help'], capture_output=True, text=True, env=cli.env,
                            timeout=60)

    assert result.returncode == 0
    assert 'demo' in result.stdout and 'upload' in result.stdout


def test_info_shows_server_modules_and_user(cli, midas_server, ada):
    cli.login_as(midas_server, ada)

    result = cli('info')
    as_json = json.loads(cli('info', '--json').stdout)

    assert result.returncode == 0, result.stderr
    assert '3.4.2' in result.stdout and 'Ada Lovelace <ada@example.org>' in result.stdout
    assert as_json['version'] == '3.4.2'
    assert {'mfa', 'tracker', 'thumbnailcreator'} <= set(as_json['modules'])
    assert as_json['user']['user_id'] == str(ada['user_id'])
    assert as_json['folders'] == ['Private', 'Public']


def test_info_uses_environment_credentials_without_a_config_file(cli, midas_server, ada):
    env = {'MIDAS_URL': midas_server.url, 'MIDAS_EMAIL': ada['email'],
           'MIDAS_API_KEY': ada['api_key']}

    result = cli('info', '--json', env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)['user']['email'] == ada['email']
    assert not cli.config_file.exists()


@pytest.fixture
def ada_tree(ada_session):
    """Private/study with a subfolder and an item of 5 bytes; returns the item id."""
    communicator, token = ada_session
    private = next(folder for folder in communicator.list_user_folders(token)
                   if folder['name'] == 'Private')
    study = communicator.create_folder(token, 'study', private['folder_id'])
    communicator.create_folder(token, 'series01', study['folder_id'])
    item = communicator.create_item(token, 'notes.txt', study['folder_id'])
    upload_token = communicator.generate_upload_token(token, item['item_id'], 'notes.txt')
    communicator.perform_upload(upload_token, 'notes.txt', filepath=io.BytesIO(b'hello'),
                                item_id=item['item_id'])
    return item['item_id']


def test_ls_lists_folders_and_items_with_sizes(cli, midas_server, ada, ada_tree):
    cli.login_as(midas_server, ada)

    result = cli('ls', 'Private/study')

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith('d') and lines[0].endswith(' series01/')
    assert lines[1].split()[1] == '5' and lines[1].endswith(' notes.txt')


def test_ls_json_and_absolute_paths(cli, midas_server, ada, ada_tree):
    cli.login_as(midas_server, ada)

    entries = json.loads(cli('ls', '--json', '/users/Ada_Lovelace/Private/study').stdout)
    item = json.loads(cli('ls', '--json', 'Private/study/notes.txt').stdout)
    home = json.loads(cli('ls', '--json').stdout)

    assert [(entry['type'], entry['name'], entry['size']) for entry in entries] == [
        ('folder', 'series01', None), ('item', 'notes.txt', 5)]
    assert item == [entries[1]] and item[0]['id'] == int(ada_tree)
    assert [entry['name'] for entry in home] == ['Private', 'Public']


def test_missing_server_path_is_one_line_error(cli, midas_server, ada):
    cli.login_as(midas_server, ada)

    result = cli('ls', 'Private/nothing-here')

    assert result.returncode == 1
    assert result.stderr.startswith('pydas: error: ') and result.stderr.count('\n') == 1
    assert 'nothing-here' in result.stderr


def test_debug_shows_the_traceback(cli, midas_server, ada):
    cli.login_as(midas_server, ada)

    result = cli('--debug', 'ls', 'Private/nothing-here')

    assert result.returncode == 1
    assert 'Traceback' in result.stderr
