"""Helpers of the download tests: content on the server, ``pydas download`` processes,
temporary files left on disk."""

import hashlib
import os
import subprocess
import sys

import pydas
from pydas.localpaths import TEMPORARY_PREFIX

from .helpers import write_tree

# Every subprocess runs the pydas under test, wherever it comes from.
PYDAS_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(pydas.__file__)))


def md5_of(path):
    """The MD5 hex digest of a local file."""
    digest = hashlib.md5()
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def upload_tree(client, root, files):
    """Write ``files`` (relative path -> bytes) under ``root`` and upload what ``root``
    holds to Ada's Private folder."""
    write_tree(str(root), files)
    client.upload(os.path.join(str(root), '*'))


def bitstream_of(server, name):
    """The ``(bitstream id, checksum)`` of the bitstream named ``name``."""
    row = server.query('SELECT bitstream_id, checksum FROM bitstream WHERE name = ?', name)[0]
    return row['bitstream_id'], row['checksum']


def temporary_files(root):
    """Paths of everything below ``root`` named like a temporary download file."""
    return sorted(os.path.join(directory, name)
                  for directory, folders, files in os.walk(str(root))
                  for name in folders + files if name.startswith(TEMPORARY_PREFIX))


def cli_environment(server, user):
    """The environment of a ``pydas`` command logged in as ``user`` through MIDAS_*."""
    env = dict(os.environ, MIDAS_URL=server.url, MIDAS_EMAIL=user['email'],
               MIDAS_API_KEY=user['api_key'], PYTHONUNBUFFERED='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [PYDAS_ROOT] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    return env


def start_download(server, user, server_path, target, *options):
    """Start ``pydas download`` in a subprocess (text output captured)."""
    return subprocess.Popen(
        [sys.executable, '-m', 'pydas.cli', 'download', server_path, str(target), '--quiet']
        + list(options),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=cli_environment(server, user))
