"""The CMake ExternalData example of docs/testing.rst, run against ``pydas serve``-like
state: a named data directory, the file in a Public folder, fetched by checksum."""

import hashlib
import os
import pathlib
import shutil
import subprocess
import textwrap

import pytest

from pydas.testing import MidasServer

from midas_api import Api

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


@pytest.mark.skipif(CMAKE is None, reason='CMake is not installed (needed for ExternalData)')
def test_cmake_externaldata_fetches_by_checksum(tmp_path):
    content = os.urandom(50000)
    checksum = hashlib.md5(content).hexdigest()
    with MidasServer(data_dir=str(tmp_path / 'midas-data')) as server:
        api = Api(server)
        token = api.login()
        public = next(folder['folder_id'] for folder in api.ok('midas.user.folders',
                                                               token=token)
                      if folder['name'] == 'Public')
        item_id = api.ok('midas.item.create', token=token, parentid=public,
                         name='scan.nrrd')['item_id']
        api.upload(token, item_id, 'scan.nrrd', content)
        source = tmp_path / 'project'
        source.mkdir()
        (source / 'CMakeLists.txt').write_text(documented_cmake_project())
        (source / 'scan.nrrd.md5').write_text(checksum + '\n')
        build = tmp_path / 'build'
        subprocess.run([CMAKE, '-S', str(source), '-B', str(build),
                        '-DMIDAS_URL=' + server.url], check=True, capture_output=True,
                       timeout=120)
        done = subprocess.run([CMAKE, '--build', str(build)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (build / 'scan.nrrd').read_bytes() == content
        fetches = [call for call in server.calls if call.method == 'midas.bitstream.download']
        assert [(call.query['checksum'], call.query['algorithm']) for call in fetches] == [
            (checksum, 'MD5')]
