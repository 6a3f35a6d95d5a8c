"""``pydas login`` / ``logout``: prompts, the settings file and where secrets may go."""

import json
import os
import pty
import select
import stat
import subprocess
import sys
import time

import pytest

from pydas import config


def assert_private_settings(cli, expected):
    """The settings file holds exactly ``expected`` and only its owner can read it."""
    assert json.loads(cli.config_file.read_text()) == expected
    assert stat.S_IMODE(cli.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.config_file.parent.stat().st_mode) == 0o700
    assert [path.name for path in cli.config_file.parent.iterdir()] == ['config.json']


def test_login_with_password_from_piped_prompts(cli, midas_server, ada):
    answers = '{0}\n{1}\n{2}\n'.format(midas_server.url, ada['email'], ada['password'])

    result = cli('login', stdin=answers)

    assert result.returncode == 0, result.stderr
    assert_private_settings(cli, {'url': midas_server.url, 'email': ada['email'],
                                  'api_key': ada['api_key']})
    assert 'Server URL: ' in result.stderr and 'Password: ' in result.stderr
    for secret in (ada['password'], ada['api_key']):
        assert secret not in result.stdout + result.stderr
    assert ada['email'] in result.stdout


def test_login_with_api_key_prompt(cli, midas_server, ada):
    result = cli.login_as(midas_server, ada)

    assert_private_settings(cli, {'url': midas_server.url, 'email': ada['email'],
                                  'api_key': ada['api_key']})
    assert ada['api_key'] not in result.stdout + result.stderr


def test_login_takes_credentials_from_environment(cli, midas_server, ada):
    env = {'MIDAS_URL': midas_server.url + '/', 'MIDAS_EMAIL': ada['email'],
           'MIDAS_API_KEY': ada['api_key']}

    result = cli('login', env=env)

    assert result.returncode == 0, result.stderr
    assert_private_settings(cli, {'url': midas_server.url, 'email': ada['email'],
                                  'api_key': ada['api_key']})


def test_password_is_never_sent_in_a_url(cli, midas_server, ada):
    midas_server.clear_calls()

    cli('login', '--url', midas_server.url, '--email', ada['email'], stdin=ada['password'])

    sent = [call for call in midas_server.calls if ada['password'] in call.form.values()]
    assert sent and all(ada['password'] not in call.query.values()
                        for call in midas_server.calls)


def test_wrong_password_is_one_line_and_saves_nothing(cli, midas_server, ada):
    result = cli('login', '--url', midas_server.url, '--email', ada['email'], stdin='wrong\n')

    assert result.returncode == 1
    assert result.stderr.count('\n') == 2  # the password prompt, then the error line
    assert result.stderr.splitlines()[-1].startswith('pydas: error: login refused')
    assert 'Traceback' not in result.stderr
    assert not cli.config_file.exists()


def test_wrong_api_key_is_refused(cli, midas_server, ada):
    result = cli('login', '--api-key', '--url', midas_server.url, '--email', ada['email'],
                 stdin='0' * 32 + '\n')

    assert result.returncode == 1
    assert 'login refused' in result.stderr and 'Traceback' not in result.stderr
    assert not cli.config_file.exists()


def test_prompts_at_end_of_input_fail_cleanly(cli, midas_server):
    result = cli('login', '--url', midas_server.url, stdin='')

    assert result.returncode == 1
    assert 'end of input' in result.stderr


@pytest.mark.parametrize('secret_option', [
    ['--password', 'correct horse'],
    ['--api-key', '0123456789abcdef'],
    ['--token', 'x'],
])
def test_no_secret_is_accepted_as_an_argument(cli, midas_server, secret_option):
    result = cli('login', '--url', midas_server.url, '--email', 'a@b.c', *secret_option)

    assert result.returncode == 2
    assert not cli.config_file.exists()


def test_password_prompt_on_a_terminal_does_not_echo(cli, midas_server, ada):
    """With a terminal as stdin the CLI uses getpass: the password is not echoed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, '-m', 'pydas.cli', 'login', '--url', midas_server.url,
         '--email', ada['email']],
        stdin=follower, stdout=follower, stderr=follower, env=cli.env, start_new_session=True)
    os.close(follower)
    try:
        transcript = read_until(leader, b'Password: ')
        os.write(leader, ada['password'].encode() + b'\n')
        transcript += read_until(leader, b'settings saved')
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    assert ada['password'].encode() not in transcript
    assert json.loads(cli.config_file.read_text())['api_key'] == ada['api_key']


def read_until(descriptor, marker, timeout=60):
    """Read a pseudo-terminal until ``marker`` appears; fail after ``timeout`` seconds."""
    received = b''
    deadline = time.monotonic() + timeout
    while marker not in received:
        readable, _, _ = select.select([descriptor], [], [],
                                       max(0.0, deadline - time.monotonic()))
        try:
            chunk = os.read(descriptor, 1024) if readable else b''
        except OSError:  # EIO: the child closed the terminal
            chunk = b''
        if not chunk:
            raise AssertionError('{0!r} never came; got {1!r}'.format(marker, received))
        received += chunk
    return received


def test_logout_forgets_credentials(cli, midas_server, ada):
    cli.login_as(midas_server, ada)

    result = cli('logout')

    assert result.returncode == 0
    assert not cli.config_file.exists()
    assert cli('logout').returncode == 0
    not_logged_in = cli('ls')
    assert not_logged_in.returncode == 1
    assert 'not logged in' in not_logged_in.stderr


def test_save_creates_owner_only_file_even_with_open_umask(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path))
    previous = os.umask(0)
    try:
        path = config.save({'url': 'http://x', 'email': 'e', 'api_key': 'k', 'token': 't'})
    finally:
        os.umask(previous)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert config.load() == {'url': 'http://x', 'email': 'e', 'api_key': 'k'}


def test_save_tightens_an_existing_directory(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path))
    (tmp_path / 'pydas').mkdir(mode=0o755)

    config.save({'url': 'http://x'})

    assert stat.S_IMODE((tmp_path / 'pydas').stat().st_mode) == 0o700


def test_config_path_defaults_to_home(tmp_path, monkeypatch):
    monkeypatch.delenv('XDG_CONFIG_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))

    assert config.config_path() == str(tmp_path / '.config' / 'pydas' / 'config.json')


def test_login_asks_for_the_one_time_password_of_an_mfa_user(cli, midas_server):
    grace = midas_server.add_user('grace@example.org', 'pw', 'Grace', 'Hopper', mfa=True)
    answers = 'pw\n{0}\n'.format(midas_server.totp(grace['email']))

    result = cli('login', '--url', midas_server.url, '--email', grace['email'], stdin=answers)

    assert result.returncode == 0, result.stderr
    assert 'One-time password: ' in result.stderr
    assert json.loads(cli.config_file.read_text())['api_key'] == grace['api_key']


def test_debug_log_shows_no_secret(cli, midas_server, ada):
    result = cli('--debug', 'login', '--url', midas_server.url, '--email', ada['email'],
                 stdin=ada['password'] + '\n')
    info = cli('--debug', 'info')

    assert result.returncode == 0 and info.returncode == 0, result.stderr + info.stderr
    assert 'midas.login' in result.stderr  # the debug log is on
    tokens = {params['token'] for call in midas_server.calls
              for params in (call.query, call.form) if params.get('token')}
    assert tokens  # the session token, sent by the calls of "info"
    for secret in [ada['password'], ada['api_key']] + sorted(tokens):
        assert secret not in result.stdout + result.stderr + info.stdout + info.stderr


@pytest.mark.parametrize('url', ['midas.example.org', 'http://127.0.0.1:9'])
def test_a_wrong_url_fails_before_asking_for_the_password(cli, url):
    result = cli('login', '--url', url, '--email', 'a@b.c', stdin='secret\n')

    assert result.returncode == 1
    assert 'Password' not in result.stderr
    assert result.stderr.startswith('pydas: error: ') and result.stderr.count('\n') == 1
