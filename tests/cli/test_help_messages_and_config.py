"""The command explains itself: help lines, defaults, human sizes, messages in its own terms."""

import io
import json
import os
import stat

import pytest

from pydas import cli as pydas_cli
from pydas import config


def subcommands():
    parser = pydas_cli.build_parser()
    choices = next(action for action in parser._actions if action.dest == 'command').choices
    return sorted(choices.items())


def test_every_positional_argument_has_a_help_line():
    for name, sub in subcommands():
        for action in sub._actions:
            if not action.option_strings:
                assert action.help, (name, action.dest)
                assert action.metavar in sub.format_help()


def test_serve_help_shows_its_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        pydas_cli.main(['serve', '--help'])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert 'usage: pydas serve' in shown
    assert '(default: 127.0.0.1)' in shown and '(default: 0, any free port)' in shown


def test_ls_human_sizes_and_json_bytes(cli, midas_server, ada, ada_session):
    communicator, token = ada_session
    private = next(folder for folder in communicator.list_user_folders(token)
                   if folder['name'] == 'Private')
    item = communicator.create_item(token, 'big.bin', private['folder_id'])
    communicator.perform_upload(
        communicator.generate_upload_token(token, item['item_id'], 'big.bin'), 'big.bin',
        filepath=io.BytesIO(b'x' * 2500000))
    cli.login_as(midas_server, ada)

    human = cli('ls', '-h', 'Private')
    plain = cli('ls', 'Private')
    listing = cli('ls', '--json', '-h', 'Private')

    assert human.returncode == 0, human.stderr
    assert human.stdout.split()[1:3] == ['2.5', 'MB']
    assert plain.stdout.split()[1] == '2500000'
    assert json.loads(listing.stdout)[0]['size'] == 2500000
    assert '--help' in cli('ls', '--help').stdout


def test_download_into_a_file_names_the_argument(cli, midas_server, ada, tmp_path):
    cli.login_as(midas_server, ada)
    (tmp_path / 'a-file').write_bytes(b'keep')
    result = cli('download', 'Private', str(tmp_path / 'a-file'))
    assert result.returncode == 1
    assert 'LOCAL_DIR' in result.stderr and 'local_path' not in result.stderr
    assert (tmp_path / 'a-file').read_bytes() == b'keep'


def test_https_to_a_plain_http_server_says_so(cli, midas_server):
    url = midas_server.url.replace('http://', 'https://')
    result = cli('login', '--url', url, '--email', 'ada@example.org')
    assert result.returncode == 1
    assert 'did not answer in TLS' in result.stderr and 'http://' in result.stderr
    assert 'certificate' not in result.stderr


@pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')
def test_certificate_advice_names_what_the_command_honours(cli, midas_server, ada, tls_midas,
                                                           certificate):
    refused = cli('login', '--url', tls_midas, '--email', ada['email'])
    assert refused.returncode == 1
    assert 'REQUESTS_CA_BUNDLE' in refused.stderr
    assert 'verify_ssl_certificate' not in refused.stderr

    trusted = cli('login', '--url', tls_midas, '--email', ada['email'],
                  env={'REQUESTS_CA_BUNDLE': certificate[0], 'MIDAS_API_KEY': ada['api_key']})
    assert trusted.returncode == 0, trusted.stderr


def test_missing_config_parents_are_private_under_umask_000(tmp_path, monkeypatch):
    home = tmp_path / 'missing' / 'config'
    monkeypatch.setenv('XDG_CONFIG_HOME', str(home))
    previous = os.umask(0)
    try:
        config.save({'url': 'http://x'})
    finally:
        os.umask(previous)
    for directory in (tmp_path / 'missing', home, home / 'pydas'):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert stat.S_IMODE((home / 'pydas' / 'config.json').stat().st_mode) == 0o600
