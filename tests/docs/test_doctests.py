"""Run the examples of the documentation against the embedded server.

Every ``>>>`` example of ``docs/*.rst`` runs with the global ``server`` (the
``midas_server`` fixture), in an empty working directory, with a fresh
default client, so each page reads as a session of its own.
"""

import doctest
import pathlib

import pytest

import pydas.session

DOCS = pathlib.Path(__file__).resolve().parents[2] / 'docs'
PAGES = sorted(path.name for path in DOCS.glob('*.rst') if '>>> ' in path.read_text())
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_the_pages_with_examples_are_found():
    assert {'quickstart.rst', 'testing.rst'} <= set(PAGES)


@pytest.mark.parametrize('page', PAGES)
def test_examples_of(page, midas_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pydas.session.Client() as client:
        monkeypatch.setattr(pydas.session, 'default_client', client)
        path = DOCS / page
        test = doctest.DocTestParser().get_doctest(
            path.read_text(encoding='utf-8'), {'server': midas_server}, page, str(path), 0)
        report = []
        runner = doctest.DocTestRunner(optionflags=OPTIONS)

        runner.run(test, out=report.append)

    assert runner.failures == 0, ''.join(report)
