"""Streaming uploads and downloads: memory, offsets, progress, file names, text repair."""

import hashlib
import io
import logging
import os
import tracemalloc

import pytest
import requests

from pydas import exceptions
from pydas.drivers import _DownloadBody, _UploadBody
from pydas.text import repair_text
from pydas.transport import CHUNK_SIZE, filename_from_disposition

from .helpers import last_call, serve_once


@pytest.fixture
def item_id(comm, token):
    private = [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]
    return comm.create_item(token, 'I', private['folder_id'])['item_id']


def test_large_upload_keeps_memory_flat(server, comm, token, item_id, tmp_path):
    size = 128 * 1024 * 1024
    path = tmp_path / 'big.bin'
    with open(path, 'wb') as sparse:
        sparse.truncate(size)  # all zeros, no disk blocks
    upload_token = comm.generate_upload_token(token, item_id, 'big.bin')
    sent = []
    tracemalloc.start()
    try:
        comm.perform_upload(upload_token, 'big.bin', filepath=str(path), progress=sent.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, 'peak %d bytes for a %d-byte upload' % (peak, size)
    assert sum(sent) == size
    bitstream = comm.item_get(token, item_id)['revisions'][-1]['bitstreams'][0]
    assert int(bitstream['sizebytes']) == size
    assert last_call(server, 'midas.upload.perform').query['length'] == str(size)


def test_an_upload_in_flight_holds_one_chunk_of_memory(tmp_path):
    """Whatever the file's size: 32 files sent at once hold 32 MiB, not 32 files."""
    content = os.urandom(3 * CHUNK_SIZE + 5)
    with open(str(tmp_path / 'f'), 'wb') as stream:
        stream.write(content)
    with open(str(tmp_path / 'f'), 'rb') as stream:
        body = _UploadBody(stream, len(content))
        chunks = [bytes(chunk) for chunk in body]
    assert [len(chunk) for chunk in chunks] == [CHUNK_SIZE] * 3 + [5]
    assert b''.join(chunks) == content


def test_resume_an_interrupted_upload(server, comm, token, item_id):
    content = bytes(range(256)) * 4096  # 1 MiB
    upload_token = comm.generate_upload_token(token, item_id, 'r.bin')
    server.faults.cut_request(300000, method='midas.upload.perform')
    with pytest.raises((exceptions.RequestError, exceptions.UploadFailed)):
        comm.perform_upload(upload_token, 'r.bin', filepath=io.BytesIO(content))
    offset = comm.get_upload_offset(upload_token)
    assert 0 < offset <= 300000
    sent = []
    comm.perform_upload(upload_token, 'r.bin', filepath=io.BytesIO(content), offset=offset,
                        progress=sent.append)
    assert sum(sent) == len(content) - offset
    assert last_call(server, 'midas.upload.perform').query['length'] == str(len(content))
    md5 = hashlib.md5(content).hexdigest()
    with open(server.assetstore_file(md5), 'rb') as stored:
        assert stored.read() == content


def test_upload_from_open_file_is_left_open(server, comm, token, item_id, tmp_path):
    path = tmp_path / 'f.bin'
    path.write_bytes(b'abcdef')
    with open(path, 'rb') as stream:
        upload_token = comm.generate_upload_token(token, item_id, 'f.bin')
        comm.perform_upload(upload_token, 'f.bin', filepath=stream, itemid=item_id)
        assert not stream.closed
    assert last_call(server, 'midas.upload.perform').query['itemid'] == item_id
    filename, chunks = comm.download_item(item_id, token)
    assert b''.join(chunks) == b'abcdef'


def test_request_with_file_payload(server, comm, token, item_id):
    upload_token = comm.generate_upload_token(token, item_id, 'p.txt')
    payload = io.BytesIO(b'xxpayload')
    payload.seek(2)  # sent from the current position
    comm.request('midas.upload.perform', {'uploadtoken': upload_token, 'filename': 'p.txt',
                                          'length': '7'}, file_payload=payload)
    call = last_call(server, 'midas.upload.perform')
    assert call.verb == 'PUT' and call.headers['Content-Length'] == '7'
    assert b''.join(comm.download_item(item_id, token)[1]) == b'payload'


def test_download_broken_connection(server, comm, token, item_id):
    content = b'z' * 500000
    comm.perform_upload(comm.generate_upload_token(token, item_id, 'z.bin'), 'z.bin',
                        filepath=io.BytesIO(content))
    server.faults.cut_response(1000)
    filename, chunks = comm.download_item(item_id, token)
    with pytest.raises(exceptions.RequestError):
        b''.join(chunks)


def test_download_error_envelope(comm, token):
    with pytest.raises(exceptions.InvalidPolicy):
        comm.download_item(99999, token)
    with pytest.raises(exceptions.InvalidParameter):
        comm.download_bitstream(99999, token)


def test_non_ascii_names_round_trip(server, comm, token, item_id):
    private = [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]
    folder = comm.create_folder(token, 'Grüße', private['folder_id'])
    assert folder['name'] == 'Grüße'
    assert comm.folder_get(token, folder['folder_id'])['name'] == 'Grüße'
    assert server.query('SELECT name FROM folder WHERE folder_id = ?',
                        int(folder['folder_id']))[0]['name'] == 'Grüße'
    comm.perform_upload(comm.generate_upload_token(token, item_id, 'naïve.txt'),
                        'naïve.txt', filepath=io.BytesIO(b'x'))
    filename, chunks = comm.download_item(item_id, token)
    assert filename == 'naïve.txt' and b''.join(chunks) == b'x'


def test_non_latin1_download_name(comm, token, item_id):
    comm.perform_upload(comm.generate_upload_token(token, item_id, '€.txt'), '€.txt',
                        filepath=io.BytesIO(b'x'))
    assert comm.download_item(item_id, token)[0] == '€.txt'


@pytest.mark.parametrize('header, name', [
    ('attachment; filename="hello.txt"', 'hello.txt'),
    ('attachment; filename=hello.txt', 'hello.txt'),
    ('attachment; filename="a b; c.txt"', 'a b; c.txt'),
    ('attachment; filename="say "hi".txt"', 'say "hi".txt'),
    ("attachment; filename*=UTF-8''na%C3%AFve%20%E2%82%AC.txt", 'naïve €.txt'),
    ("attachment; filename=\"fallback.txt\"; filename*=UTF-8''r%C3%A9el.txt", 'réel.txt'),
    ('attachment; filename="Gr\u00c3\u00bc\u00c3\u009fe.zip"', 'Grüße.zip'),
    # Raw UTF-8 as http.client hands it over (decoded as Latin-1), with what Midas
    # leaves unescaped between the quotes: tabs, quotes, backslashes, semicolons.
    ('attachment; filename="caf\u00c3\u00a9\tx.txt"', 'caf\u00e9\tx.txt'),
    ('attachment; filename="\u00c3\u00a9 "q" a\\b;c=1.txt"', '\u00e9 "q" a\\b;c=1.txt'),
    ('attachment; filename=caf\u00c3\u00a9.txt', 'caf\u00e9.txt'),
    ("attachment; filename*=UTF-8''caf%C3%A9%09x.txt", 'caf\u00e9\tx.txt'),
    ("attachment; filename*=iso-8859-1''caf%E9.txt", 'caf\u00e9.txt'),
    ('inline', None),
    (None, None),
])
def test_filename_from_disposition(header, name):
    assert filename_from_disposition(header) == name


@pytest.mark.parametrize('value, repaired', [
    ('Gr\u00c3\u00bc\u00c3\u009fe', 'Grüße'),
    ('Grüße', 'Grüße'),  # not an encoding of anything: left alone
    ('plain', 'plain'),
    ('\u00e9', '\u00e9'),  # a lone Latin-1 character is not valid UTF-8
    ({'n\u00c3\u00a9': ['\u00c3\u00a9', 1, None]}, {'né': ['é', 1, None]}),
])
def test_repair_text(value, repaired):
    assert repair_text(value) == repaired


def connections_opened(caplog):
    """Connections urllib3 opened (new, or again after one was closed) while ``caplog`` ran."""
    return sum(1 for record in caplog.records if record.name == 'urllib3.connectionpool'
               and record.getMessage().startswith(('Starting new', 'Resetting dropped')))


def uploaded_bitstream(comm, token, item_id, content):
    comm.perform_upload(comm.generate_upload_token(token, item_id, 'c.bin'), 'c.bin',
                        filepath=io.BytesIO(content))
    return comm.item_get(token, item_id)['revisions'][-1]['bitstreams'][0]['bitstream_id']


def test_downloads_read_to_the_end_reuse_the_connection(comm, token, item_id, caplog):
    content = bytes(range(256)) * 40
    bitstream_id = uploaded_bitstream(comm, token, item_id, content)
    caplog.set_level(logging.DEBUG, logger='urllib3.connectionpool')
    for _ in range(3):
        _, body = comm.stream_bitstream(bitstream_id, token=token)
        assert b''.join(body) == content
        assert comm.item_get(token, item_id)['item_id'] == item_id
    assert connections_opened(caplog) == 0


def test_downloads_not_read_to_the_end_close_the_connection(comm, token, item_id, caplog):
    content = bytes(range(256)) * 40
    bitstream_id = uploaded_bitstream(comm, token, item_id, content)
    caplog.set_level(logging.DEBUG, logger='urllib3.connectionpool')
    _, body = comm.stream_bitstream(bitstream_id, token=token)
    assert body.readinto(bytearray(10)) == 10
    body.close()
    # With an offset the server announces the whole size: what follows the body is unknown.
    _, body = comm.stream_bitstream(bitstream_id, token=token, offset=1000)
    assert b''.join(body) == content[1000:]
    # Neither connection was reused: the next answers are whole and right.
    assert comm.item_get(token, item_id)['item_id'] == item_id
    _, body = comm.stream_bitstream(bitstream_id, token=token)
    assert b''.join(body) == content
    assert connections_opened(caplog) == 2


@pytest.mark.parametrize('mode', ['iterate', 'read', 'readinto'])
def test_a_chunked_download_body_cut_in_a_chunk_is_a_broken_connection(mode):
    """No Midas download is chunked; a proxy in between may make it so."""
    whole = (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
             b'5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
    assert b''.join(_DownloadBody(requests.get(serve_once(whole), stream=True), None, 'm')) \
        == b'hello world'
    body = _DownloadBody(requests.get(serve_once(whole[:-20]), stream=True), None, 'm')
    with pytest.raises(exceptions.RequestError, match='connection broke'):
        if mode == 'iterate':
            b''.join(body)
        elif mode == 'read':
            body.read()
        else:
            while body.readinto(bytearray(100)):
                pass


def test_a_download_body_reads_whole_or_in_parts(server, comm, token, item_id):
    content = os.urandom(300000)
    comm.perform_upload(comm.generate_upload_token(token, item_id, 'r.bin'), 'r.bin',
                        filepath=io.BytesIO(content))
    _, body = comm.download_item(item_id, token)
    assert body.read(10) == content[:10]
    assert body.read() == content[10:]
    assert body.read() == b'' and body.read(5) == b''
