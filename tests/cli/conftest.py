"""Helpers to drive the ``pydas`` command as a subprocess against the embedded server."""

import os
import subprocess
import sys

import pytest

from pydas.core import Communicator

# A command of the CLI finishes in seconds; this only stops a hung test.
TIMEOUT = 120


class Cli(object):
    """Runs ``python -m pydas.cli`` with a private config directory and no MIDAS_* variables."""

    def __init__(self, tmp_path):
        self.config_home = tmp_path / 'config'
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith('MIDAS_')}
        self.env.update(XDG_CONFIG_HOME=str(self.config_home), HOME=str(tmp_path / 'home'),
                        PYTHONUNBUFFERED='1')
        self.cwd = tmp_path

    @property
    def config_file(self):
        """The path of the settings file this CLI writes."""
        return self.config_home / 'pydas' / 'config.json'

    def __call__(self, *args, stdin='', env=None):
        """Run the command; return the CompletedProcess (text stdout/stderr)."""
        return subprocess.run(
            [sys.executable, '-m', 'pydas.cli'] + [str(arg) for arg in args],
            input=stdin, capture_output=True, text=True, timeout=TIMEOUT,
            env=dict(self.env, **(env or {})), cwd=str(self.cwd))

    def login_as(self, server, user):
        """Log in non-interactively with ``user``'s API key; return the CompletedProcess."""
        result = self('login', '--api-key', '--url', server.url, '--email', user['email'],
                      stdin=user['api_key'] + '\n')
        assert result.returncode == 0, result.stderr
        return result


@pytest.fixture
def cli(tmp_path):
    """A runner of the ``pydas`` command isolated in ``tmp_path``."""
    return Cli(tmp_path)


@pytest.fixture
def ada_session(midas_server, ada):
    """``(communicator, token)`` logged in as Ada, for checking the server's state."""
    with Communicator(midas_server.url) as communicator:
        yield communicator, communicator.login_with_api_key(ada['email'], ada['api_key'])
