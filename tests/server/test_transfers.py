"""Uploads (tokens, resume, dedup, revisions) and downloads (files, zips, offsets)."""

import hashlib
import io
import os
import zipfile

import requests

from midas_api import Api

CONTENT = b'Hello Midas!\nThis is a test file.\n' * 3


def _item(api, token, name='hello.txt', folder='2'):
    return api.ok('midas.item.create', token=token, parentid=folder, name=name)['item_id']


def test_upload_stores_content_by_md5(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token)
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='hello.txt')['token']
    user_id, token_item, secret = upload_token.split('/')
    assert (user_id, token_item, len(secret)) == ('1', item_id, 64)
    assert api.ok('midas.upload.getoffset', uploadtoken=upload_token) == {'offset': '0'}
    item = api.ok('midas.upload.perform', 'PUT', CONTENT, uploadtoken=upload_token,
                  filename='hello.txt', length=str(len(CONTENT)), revision='head')
    assert item['sizebytes'] == str(len(CONTENT))
    assert api.ok('midas.upload.getoffset', uploadtoken=upload_token) == {'offset': ''}
    assert api.fail('midas.upload.perform', 'PUT', CONTENT, uploadtoken=upload_token,
                    filename='hello.txt', length='102') == (
        '-141', 'Invalid upload token ' + upload_token)
    md5 = hashlib.md5(CONTENT).hexdigest()
    with open(midas_server.assetstore_file(md5), 'rb') as stored:
        assert stored.read() == CONTENT
    bitstream = api.ok('midas.item.get', token=token, id=item_id)['revisions'][0]['bitstreams'][0]
    assert (bitstream['checksum'], bitstream['path'], bitstream['mimetype']) == (
        md5, '%s/%s/%s' % (md5[:2], md5[2:4], md5), 'text/plain')


def test_partial_upload_resumes(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'partial.bin')
    data = os.urandom(10240)
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='partial.bin')['token']
    assert api.fail('midas.upload.perform', data=data[:4000], uploadtoken=upload_token,
                    filename='partial.bin', length='10240', revision='head') == (
        '-105', 'Failed to upload file - 4000/10240 bytes transferred')
    assert api.ok('midas.upload.getoffset', uploadtoken=upload_token) == {'offset': '4000'}
    api.ok('midas.upload.perform', 'PUT', data[4000:], uploadtoken=upload_token,
           filename='partial.bin', length='10240', revision='head')
    with open(midas_server.assetstore_file(hashlib.md5(data).hexdigest()), 'rb') as stored:
        assert stored.read() == data


def test_upload_revisions_and_chunked_body(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'r.bin')
    api.upload(token, item_id, 'a.bin', b'a' * 10, revision='head')
    api.upload(token, item_id, 'b.bin', b'b' * 20, revision='head')
    item = api.upload(token, item_id, 'c.bin', b'c' * 30)
    assert item['sizebytes'] == '30'
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='d.bin')['token']
    chunks = iter([b'd' * 5, b'd' * 7])
    api.ok('midas.upload.perform', 'PUT', chunks, uploadtoken=upload_token, filename='d.bin',
           length='12', revision='1')
    revisions = api.ok('midas.item.get', token=token, id=item_id)['revisions']
    assert [[b['name'] for b in r['bitstreams']] for r in revisions] == [
        ['a.bin', 'b.bin', 'd.bin'], ['c.bin']]
    assert api.ok('midas.item.get', token=token, id=item_id, head='')['revisions'][0][
        'revision'] == '2'


def test_checksum_dedup_and_folder_tokens(midas_server):
    api = Api(midas_server)
    token = api.login()
    api.upload(token, _item(api, token), 'hello.txt', CONTENT, revision='head')
    upload_token = api.ok('midas.upload.generatetoken', token=token, folderid='3',
                          filename='copy.txt', itemname='copy item',
                          checksum=hashlib.md5(CONTENT).hexdigest())['token']
    assert upload_token == ''
    copy = api.ok('midas.item.searchbyname', token=token, name='copy item')['items'][0]
    assert copy['sizebytes'] == str(len(CONTENT))
    revisions = api.ok('midas.item.get', token=token, id=copy['item_id'])['revisions']
    assert revisions[0]['changes'] == 'Initial revision'
    assert revisions[0]['bitstreams'][0]['name'] == 'copy.txt'
    assert len(os.listdir(os.path.dirname(midas_server.assetstore_file(
        hashlib.md5(CONTENT).hexdigest())))) == 1
    assert api.ok('midas.upload.generatetoken', token=token, folderid='3', filename='x',
                  checksum='0' * 32)['token'].startswith('1/')


def test_upload_errors(midas_server):
    api = Api(midas_server)
    token = api.login()
    assert api.fail('midas.upload.perform', 'GET', uploadtoken='1/1/x', filename='x',
                    length='3') == ('-153', 'POST or PUT method required')
    assert api.fail('midas.upload.generatetoken', token=token, filename='x') == (
        '-150', 'Parameter itemid or folderid must be defined')
    assert api.fail('midas.upload.generatetoken', token=token, filename='x', itemid='99') == (
        '0', 'Error in parameter itemdao or policy when checking Item policy.')
    assert api.fail('midas.upload.generatetoken', filename='x', itemid='1') == (
        '-151', 'Anonymous users may not upload')


def test_multipart_mode(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'm')
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='multi.txt')['token']
    response = api.session.post(api.url, params={
        'method': 'midas.upload.perform', 'uploadtoken': upload_token, 'filename': 'multi.txt',
        'length': '11', 'mode': 'multipart'}, data={'file': 'x'},
        files={'file': ('multi.txt', b'hello world')})
    assert response.json()['data']['sizebytes'] == '11'


def test_downloads_single_zip_empty_offset(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token)
    api.upload(token, item_id, 'hello.txt', CONTENT, revision='head')
    redirect = api.raw('midas.item.download', 'GET', token=token, id=item_id)
    assert redirect.status_code == 302
    assert redirect.headers['Location'] == '/download/?items=%s&authToken=%s' % (item_id, token)
    single = api.session.get(midas_server.url + redirect.headers['Location'])
    assert single.content == CONTENT
    assert single.headers['Content-Disposition'] == 'attachment; filename="hello.txt"'
    assert single.headers['Content-Length'] == str(len(CONTENT))
    api.upload(token, item_id, 'two.bin', b'\x00\x01' * 100, revision='head')
    archive = api.session.get(api.url, params={'method': 'midas.item.download', 'id': item_id,
                                               'token': token})
    assert archive.headers['Content-Type'] == 'application/x-zip'
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.namelist() == ['hello.txt', 'two.bin']
        assert opened.read('hello.txt') == CONTENT
    empty = api.session.get(api.url, params={'method': 'midas.item.download', 'token': token,
                                             'id': _item(api, token, 'empty')})
    assert empty.content == b'PK\x05\x06' + b'\x00' * 18
    bitstream = api.ok('midas.item.get', token=token, id=item_id)['revisions'][0][
        'bitstreams'][0]
    location = api.raw('midas.bitstream.download', 'GET', token=token,
                       checksum=bitstream['checksum'], offset='10').headers['Location']
    assert location.startswith('/download/?bitstream=%s&offset=10&name=hello.txt&authToken='
                               % bitstream['bitstream_id'])
    partial = requests.get(midas_server.url + location, stream=True)
    assert partial.headers['Content-Length'] == str(len(CONTENT))
    # The body is shorter than announced, then the connection closes (Midas quirk).
    assert partial.headers['Connection'] == 'close'
    assert partial.raw.read(len(CONTENT) - 10) == CONTENT[10:]
    assert api.ok('midas.item.get', token=token, id=item_id)['download'] == '2'


def test_download_permissions_and_folder_zip(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token)
    api.upload(token, item_id, 'hello.txt', CONTENT, revision='head')
    assert api.fail('midas.item.download', id=item_id) == (
        '-151', "This item doesn't exist or you don't have the permissions.")
    assert api.fail('midas.bitstream.download', id='99') == (
        '-150', 'The bitstream does not exist or you do not have the permissions')
    assert requests.get(midas_server.url + '/download/?items=%s' % item_id).status_code == 500
    archive = api.session.get(api.url, params={'method': 'midas.folder.download', 'id': '1',
                                               'token': token})
    assert 'filename="AdminUser-user_1.zip"' in archive.headers['Content-Disposition']
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.namelist() == ['user_1/Private/hello.txt']
    info = api.ok('midas.bitstream.get', token=token, id='1')
    assert list(info) == ['id', 'name', 'size', 'mimetype', 'checksum', 'itemrevision_id',
                          'item_id', 'date']
    uuid = midas_server.query('SELECT uuid FROM folder WHERE folder_id = 1')[0]['uuid']
    assert api.ok('midas.bitstream.count', token=token, uuid=uuid) == {
        'size': str(len(CONTENT)), 'count': '1'}


def test_large_transfer_streams(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = _item(api, token, 'big.bin')
    data = os.urandom(3 << 20)
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='big.bin')['token']
    api.ok('midas.upload.perform', 'PUT', io.BytesIO(data), uploadtoken=upload_token,
           filename='big.bin', length=str(len(data)), revision='head')
    response = api.session.get(api.url, params={'method': 'midas.item.download', 'id': item_id,
                                                'token': token}, stream=True)
    assert b''.join(response.iter_content(1 << 16)) == data
