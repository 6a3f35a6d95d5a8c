"""The upload state keeps records only of uploads a later run could go on with."""

import os

from pydas import uploadstate
from pydas.checksums import file_md5


def test_no_record_is_left_of_files_the_server_held_or_received_whole(
        client, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state'))
    monkeypatch.delenv('PYDAS_UPLOAD_STATE', raising=False)
    (tmp_path / 'first.txt').write_bytes(b'content the server will hold')
    client.upload(str(tmp_path / 'first.txt'))
    source = tmp_path / 'up'
    source.mkdir()
    (source / 'a.txt').write_bytes(b'content the server will hold')
    (source / 'b.txt').write_bytes(b'other content')
    result = client.upload(str(source))
    assert result.unchanged == [str(source / 'a.txt')]
    assert result.transferred == [str(source / 'b.txt')]
    states = uploadstate.default_state()
    for path in (str(source / 'a.txt'), str(source / 'b.txt')):
        info = os.stat(path)
        assert states.recall(client.communicator.url, os.path.abspath(path), info.st_size,
                             info.st_mtime_ns, file_md5(path)[0]) is None
