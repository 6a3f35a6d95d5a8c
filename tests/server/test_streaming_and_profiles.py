"""Streamed uploads (stream and multipart), sendfile downloads, fatal error
locations, the tracker_legacy profile and several-folder downloads."""

import hashlib
import io
import os
import random
import tracemalloc
import zipfile

import requests

from midas_api import Api
from pydas.testing import MidasServer, registry
from pydas.testing.http import parse_multipart

BOUNDARY = 'xYzZy'


def _md5(data):
    return hashlib.md5(data).hexdigest()


def _item(api, token, name, parent='2'):
    return api.ok('midas.item.create', token=token, parentid=parent, name=name)['item_id']


def _stored(server, item_id):
    """(name, checksum, bytes on disk) of the bitstreams of an item's head revision."""
    rows = server.query('SELECT bitstream.name, checksum FROM bitstream JOIN itemrevision '
                        'USING (itemrevision_id) WHERE item_id = ? ORDER BY bitstream_id',
                        int(item_id))
    found = []
    for row in rows:
        with open(server.assetstore_file(row['checksum']), 'rb') as handle:
            found.append((row['name'], row['checksum'], handle.read()))
    return found


def _scratch_files(server):
    return [name for _, _, names in os.walk(server.store.tmp_dir) for name in names
            if name.startswith('scratch-')]


# -- stream uploads (readinto + background MD5) --------------------------------------------


def test_stream_upload_of_odd_size_keeps_bytes_and_md5(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'odd')
    content = random.Random(1).randbytes(3 * (1 << 20) + 12345)
    api.upload(token, item_id, 'odd.bin', content)
    assert _stored(midas_server, item_id) == [('odd.bin', _md5(content), content)]


def test_chunked_stream_upload_and_resume_after_cut(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'resumed')
    content = random.Random(2).randbytes(2 * (1 << 20) + 7)
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='r.bin')['token']
    midas_server.faults.cut_request(1500000, method='midas.upload.perform')
    try:
        api.raw('midas.upload.perform', 'PUT', content, uploadtoken=upload_token,
                filename='r.bin', length=str(len(content)))
    except requests.ConnectionError:
        pass
    offset = int(api.ok('midas.upload.getoffset', uploadtoken=upload_token)['offset'])
    assert offset == 1500000
    rest = iter([content[offset:offset + 1000], content[offset + 1000:]])  # chunked body
    api.ok('midas.upload.perform', 'PUT', rest, uploadtoken=upload_token, filename='r.bin',
           length=str(len(content)))
    assert _stored(midas_server, item_id) == [('r.bin', _md5(content), content)]


# -- multipart uploads ----------------------------------------------------------------------


def test_multipart_upload_goes_to_disk_and_leaves_no_scratch(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'multi')
    content = random.Random(3).randbytes((1 << 20) * 2 + 99) + b'\r\n--' + b'\r\n'
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='m.bin')['token']
    response = api.session.post(api.url, params={
        'method': 'midas.upload.perform', 'uploadtoken': upload_token, 'filename': 'm.bin',
        'length': str(len(content)), 'mode': 'multipart'},
        data={'file': 'x'}, files={'file': ('m.bin', content)})
    assert response.json()['stat'] == 'ok'
    assert _stored(midas_server, item_id) == [('m.bin', _md5(content), content)]
    assert _scratch_files(midas_server) == []
    # a file part no handler takes is deleted after the call
    api.session.post(api.url, params={'method': 'midas.version'},
                     files={'file': ('m.bin', content)})
    assert _scratch_files(midas_server) == []


def test_multipart_upload_cut_short_leaves_no_scratch(midas_server):
    api = Api(midas_server)
    token = api.login()
    upload_token = api.ok('midas.upload.generatetoken', token=token,
                          itemid=_item(api, token, 'cut'), filename='c.bin')['token']
    midas_server.faults.cut_request(300000, method='midas.upload.perform')
    try:
        api.session.post(api.url, params={
            'method': 'midas.upload.perform', 'uploadtoken': upload_token,
            'filename': 'c.bin', 'length': '1000000', 'mode': 'multipart'},
            data={'file': 'x'}, files={'file': ('c.bin', bytes(1000000))})
    except requests.ConnectionError:
        pass
    assert api.ok('midas.version')  # the server still answers
    assert _scratch_files(midas_server) == []


class Trickle(object):
    """A request body that hands out at most ``piece`` bytes per read."""

    def __init__(self, data, piece):
        self._data = io.BytesIO(data)
        self._piece = piece

    def read(self, size):
        return self._data.read(min(size, self._piece))


def _multipart(parts, preamble=b'', closed=True):
    body = preamble
    for headers, content in parts:
        body += b'\r\n--' + BOUNDARY.encode() + b'\r\n' + headers + b'\r\n\r\n' + content
    if not preamble:
        body = body[2:]
    return body + (b'\r\n--' + BOUNDARY.encode() + b'--\r\n' if closed else b'')


def _spool(directory):
    names = iter(range(100))
    return lambda: str(directory / ('part-%d' % next(names)))


def test_multipart_parser_finds_delimiters_across_chunk_borders(tmp_path):
    content = b'a\r\n--xYzZ not the end\r\n--xYzZ' * 50 + b'\r\n'
    body = _multipart([
        (b'Content-Disposition: form-data; name="file"', b'x'),
        (b'Content-Disposition: form-data; name="file"; filename="f.bin"\r\n'
         b'Content-Type: application/octet-stream', content),
        (b'Content-Disposition: form-data; name="note"', 'caf\u00e9'.encode())],
        preamble=b'ignored preamble')
    for piece in (1, 7, 64, 1 << 20):
        directory = tmp_path / str(piece)
        directory.mkdir()
        form, files = parse_multipart('multipart/form-data; boundary=' + BOUNDARY,
                                      Trickle(body, piece), _spool(directory))
        assert form == {'file': 'x', 'note': 'caf\u00e9'}
        part = files['file']
        assert (part.filename, part.size, part.checksum) == ('f.bin', len(content),
                                                             _md5(content))
        with open(part.path, 'rb') as handle:
            assert handle.read() == content


def test_multipart_parser_drops_a_part_cut_short(tmp_path):
    body = _multipart([(b'Content-Disposition: form-data; name="a"', b'1'),
                       (b'Content-Disposition: form-data; name="file"; filename="f"',
                        b'partial content')], closed=False)
    form, files = parse_multipart('multipart/form-data; boundary="%s"' % BOUNDARY,
                                  Trickle(body, 5), _spool(tmp_path))
    assert (form, files, os.listdir(tmp_path)) == ({'a': '1'}, {}, [])


class Generated(object):
    """A multipart body of one ``size``-byte file part, made while it is read."""

    def __init__(self, size):
        self._pieces = iter([b'--' + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data;'
                             b' name="file"; filename="big"\r\n\r\n']
                            + [b'z' * (1 << 20)] * (size >> 20)
                            + [b'\r\n--' + BOUNDARY.encode() + b'--\r\n'])

    def read(self, size):
        return next(self._pieces, b'')


def test_multipart_parser_memory_stays_flat(tmp_path):
    tracemalloc.start()
    try:
        _, files = parse_multipart('multipart/form-data; boundary=' + BOUNDARY,
                                   Generated(32 << 20), _spool(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert files['file'].size == 32 << 20
    assert peak < 6 << 20, peak


# -- downloads ------------------------------------------------------------------------------


def test_single_file_download_whole_and_from_offset(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'file')
    content = random.Random(4).randbytes((1 << 20) + 3)
    api.upload(token, item_id, 'file.bin', content)
    bitstream_id = midas_server.query('SELECT bitstream_id FROM bitstream WHERE name = ?',
                                      'file.bin')[0]['bitstream_id']
    whole = api.session.get(api.url, params={'method': 'midas.item.download', 'id': item_id,
                                             'token': token})
    assert whole.content == content
    assert api.ok('midas.item.get', token=token, id=item_id)['download'] == '1'
    with api.session.get(api.url, stream=True, params={
            'method': 'midas.bitstream.download', 'id': bitstream_id, 'offset': '1000',
            'token': token}) as partial:
        assert partial.headers['Content-Length'] == str(len(content))
        assert partial.raw.read(len(content), decode_content=False) == content[1000:]
    assert api.ok('midas.item.get', token=token, id=item_id)['download'] == '1'


def test_several_folders_download_as_one_zip(midas_server):
    api = Api(midas_server)
    token = api.login()
    folders, items = [], []
    for name in ('first', 'second'):
        folder_id = api.ok('midas.folder.create', token=token, parentid='2',
                           name=name)['folder_id']
        item_id = _item(api, token, name + '.txt', parent=folder_id)
        api.upload(token, item_id, name + '.txt', name.encode() * 10)
        folders.append(folder_id)
        items.append(item_id)
    expected = {'first/first.txt': b'first' * 10, 'second/second.txt': b'second' * 10}
    via_api = api.session.get(api.url, params={'method': 'midas.folder.download',
                                               'id': ','.join(folders), 'token': token})
    direct = api.session.get(midas_server.url + '/download/', params={
        'folders': ','.join(folders), 'authToken': token})
    for response in (via_api, direct):
        assert response.status_code == 200
        assert response.headers['Content-Disposition'] == 'attachment; filename="Custom.zip"'
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        assert {name: archive.read(name) for name in archive.namelist()} == expected
    for item_id in items:
        assert api.ok('midas.item.get', token=token, id=item_id)['download'] == '2'
    single = api.session.get(midas_server.url + '/download/', params={
        'folders': folders[0], 'authToken': token})
    assert single.headers['Content-Disposition'] == \
        'attachment; filename="AdminUser-first.zip"'
    assert api.fail('midas.folder.download', id=','.join(folders)) == (
        '-151', "This folder doesn't exist or you don't have the permissions.")


# -- fatal error pages ----------------------------------------------------------------------


def test_fatal_error_page_names_its_source_location(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'not-dicom')
    api.upload(token, item_id, 'notes.txt', b'not a DICOM file')
    response = api.raw('midas.dicomextractor.extract', token=token, item=item_id)
    assert response.status_code == 500
    assert (b'cannot be empty<br/>In MIDAS_ROOT/modules/dicomextractor/controllers/components/'
            b'ExtractorComponent.php, line: 214<br/>At ') in response.content
    generic = api.session.get(midas_server.url + '/download/',
                              params={'items': item_id, 'authToken': 'bad'})
    assert generic.status_code == 500
    assert b'In MIDAS_ROOT/core/AppController.php, line: 0<br/>' in generic.content


# -- profiles -------------------------------------------------------------------------------


def test_legacy_tracker_method_listed_and_served_only_with_tracker_legacy():
    legacy = 'tracker.results.upload.json'
    assert 'tracker_legacy' in MidasServer.DEFAULT_MODULES
    assert 'midas.' + legacy in registry.method_names(MidasServer.DEFAULT_MODULES)
    assert 'midas.' + legacy not in registry.method_names(MidasServer.RECORDED_MODULES)
    assert 'midas.' + legacy not in registry.method_names(('tracker_legacy',))
    assert registry.resolve('midas.' + legacy, ('tracker',)) is None
    for modules, listed in ((MidasServer.RECORDED_MODULES, False), (None, True)):
        with MidasServer(modules=modules) as server:
            api = Api(server)
            names = [entry['name'] for entry in api.ok('midas.methods.list')['methods']]
            assert (legacy in names) == listed
            answer = api.call('midas.' + legacy, 'PUT', b'{"m": 1}', token=api.login(),
                              communityId='1', producerDisplayName='S', producerRevision='a')
            assert (answer['code'] == '-101') == (not listed), answer
