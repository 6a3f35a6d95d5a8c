"""``pydas demo`` and ``pydas serve``."""

import json
import subprocess
import sys

import requests

from pydas import demo

TIMEOUT = 60


def test_demo_round_trip_verifies(cli):
    result = cli('demo')

    assert result.returncode == 0, result.stdout + result.stderr
    steps = [line for line in result.stdout.splitlines() if line.startswith('[')]
    assert [step[:5] for step in steps] == ['[{0}/7]'.format(n) for n in range(1, 8)]
    assert 'every byte identical' in steps[-1]
    assert '0 failed' in result.stdout


def test_demo_cleans_up_its_temporary_directory(cli, tmp_path):
    temporary = tmp_path / 'tmp'
    temporary.mkdir()

    result = cli('demo', '--quiet', env={'TMPDIR': str(temporary)})

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ''
    assert list(temporary.iterdir()) == []


def test_serve_prints_json_and_serves_until_stopped(cli):
    server = subprocess.Popen([sys.executable, '-m', 'pydas.cli', 'serve', '--json'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=cli.env)
    try:
        started = json.loads(server.stdout.readline())
        assert set(started) >= {'url', 'email', 'password', 'api_key'}
        answer = requests.post(started['url'] + '/api/json',
                               data={'method': 'midas.version'}, timeout=TIMEOUT)
        assert answer.json()['data']['version'] == '3.4.2'
    finally:
        server.terminate()
        server.communicate(timeout=TIMEOUT)


def test_demo_verification_notices_any_difference(tmp_path):
    original, copy = tmp_path / 'original', tmp_path / 'copy'
    demo.create_dataset(str(original))
    demo.create_dataset(str(copy))
    assert demo.compare_trees(str(original), str(copy)) == []

    (copy / 'dataset' / 'README.txt').write_bytes(b'changed')
    (copy / 'dataset' / 'volume.raw').unlink()
    (copy / 'dataset' / 'extra.txt').write_text('x')

    assert demo.compare_trees(str(original), str(copy)) == [
        'missing: dataset/volume.raw', 'unexpected: dataset/extra.txt',
        'content differs: dataset/README.txt']
