"""The CMake ExternalData example of docs/testing.rst, against the server as ``pydas serve
--data-dir DIR`` runs it: the file in a Public folder, fetched anonymously by checksum."""

import hashlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import requests

DOCS = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'testing.rst'
CMAKE = shutil.which('cmake')


def documented_cmake_project():
    """The ``.. code-block:: cmake`` of docs/testing.rst."""
    text = DOCS.read_text(encoding='utf-8')
    block = text.split('.. code-block:: cmake\n\n', 1)[1]
    lines = []
    for line in block.split('\n'):
        if line and not line.startswith('    '):
            break
        lines.append(line)
    return textwrap.dedent('\n'.join(lines)).strip() + '\n'


@pytest.fixture
def served(tmp_path):
    """``python -m pydas.testing --json --data-dir DIR`` (what ``pydas serve`` runs)."""
    process = subprocess.Popen([sys.executable, '-m', 'pydas.testing', '--json',
                                '--data-dir', str(tmp_path / 'midas-data')],
                               stdout=subprocess.PIPE)
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def call(details, method, data=None, **params):
    """The ``data`` of a successful JSON call to the served Midas."""
    answer = requests.request('PUT' if data is not None else 'POST',
                              details['url'] + '/api/json', data=data,
                              params=dict(params, method=method), timeout=30).json()
    assert answer['stat'] == 'ok', answer
    return answer['data']


@pytest.mark.skipif(CMAKE is None, reason='CMake is not installed (needed for ExternalData)')
def test_cmake_externaldata_fetches_by_checksum(served, tmp_path):
    content = os.urandom(50000)
    checksum = hashlib.md5(content).hexdigest()
    token = call(served, 'midas.login', email=served['email'], apikey=served['api_key'],
                 appname='Default')['token']
    public = next(folder['folder_id'] for folder in call(served, 'midas.user.folders',
                                                         token=token)
                  if folder['name'] == 'Public')
    upload_token = call(served, 'midas.upload.generatetoken', token=token, folderid=public,
                        filename='scan.nrrd')['token']
    call(served, 'midas.upload.perform', content, uploadtoken=upload_token,
         filename='scan.nrrd', length=str(len(content)))
    source = tmp_path / 'project'
    source.mkdir()
    (source / 'CMakeLists.txt').write_text(documented_cmake_project())
    (source / 'scan.nrrd.md5').write_text(checksum + '\n')
    build = tmp_path / 'build'
    subprocess.run([CMAKE, '-S', str(source), '-B', str(build),
                    '-DMIDAS_URL=' + served['url']], check=True, capture_output=True,
                   timeout=120)
    done = subprocess.run([CMAKE, '--build', str(build)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (build / 'scan.nrrd').read_bytes() == content
    stored = build / 'ExternalData' / 'Objects' / 'MD5' / checksum
    assert stored.read_bytes() == content
