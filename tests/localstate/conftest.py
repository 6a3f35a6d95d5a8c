"""Fixtures of the tests of pydas's local databases (checksum cache, upload state)."""

import logging

import pytest

from pydas import checksumcache


@pytest.fixture
def make_file(tmp_path, monkeypatch):
    """``make_file(name, content)``: a file whose MD5 the checksum cache keeps at once (the
    tests do not wait for its times to be older than ``RACY_NS``)."""
    monkeypatch.setattr(checksumcache, 'RACY_NS', 0)

    def make(name, content):
        path = tmp_path / name
        path.write_bytes(content)
        return str(path)
    return make


@pytest.fixture
def pydas_warnings(caplog):
    """``pydas_warnings()``: the messages of the warnings logged on ``pydas`` so far."""
    caplog.set_level(logging.DEBUG, logger='pydas')

    def warnings():
        return [record.getMessage() for record in caplog.records
                if record.name == 'pydas' and record.levelno >= logging.WARNING]
    return warnings
