"""Response headers that carry names users chose (Location, Content-Disposition).

PHP's ``header()`` refuses a value with CR, LF or NUL, so Midas sends such a response
without that header; the server must answer at once and never send a broken header.
"""

import socket

import pytest

from midas_api import Api

QUICK = 5  # seconds: an answer comes at once; a broken header used to hang until timeout


@pytest.fixture
def env(midas_server):
    api = Api(midas_server)
    token = api.login()
    return api, token


def _bitstream(api, token, name, content=b'data', item_name='doc'):
    item = api.ok('midas.item.create', token=token, parentid='2', name=item_name)['item_id']
    api.upload(token, item, name, content)
    row = api.server.query('SELECT bitstream_id FROM bitstream JOIN itemrevision '
                           'USING (itemrevision_id) WHERE item_id = ?', int(item))[0]
    return item, row['bitstream_id']


def _raw_head(server, target):
    """The status line and header lines of a GET, read off the socket as sent."""
    host, port = server.url.rsplit('/', 1)[1].split(':')
    with socket.create_connection((host, int(port)), timeout=QUICK) as connection:
        connection.sendall(('GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n'
                            % (target, host, port)).encode('ascii'))
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = connection.recv(65536)
            assert chunk, 'connection closed before the end of the headers'
            data += chunk
    return data.split(b'\r\n\r\n', 1)[0].split(b'\r\n')


def _well_formed(lines):
    assert lines[0].startswith(b'HTTP/1.1 ')
    for line in lines[1:]:
        name, colon, _ = line.partition(b': ')
        assert colon and name and b'\n' not in line and b'\r' not in line, line


@pytest.mark.parametrize('name', ['two\nlines.txt', 'carriage\rreturn.txt'])
def test_redirect_of_a_name_with_a_line_break_has_no_location(env, name):
    api, token = env
    _, bitstream_id = _bitstream(api, token, name)
    response = api.session.post(api.url, params={
        'method': 'midas.bitstream.download', 'id': bitstream_id, 'token': token},
        allow_redirects=False, timeout=QUICK)
    assert response.status_code == 302
    assert 'Location' not in response.headers and response.content == b''
    assert api.ok('midas.version')  # the keep-alive connection still works
    # the same name given as ``name``, and a revision parameter with CRLF
    response = api.session.post(api.url, params={
        'method': 'midas.bitstream.download', 'id': bitstream_id, 'token': token,
        'name': 'a\r\nX-Bad: 1'},
        allow_redirects=False, timeout=QUICK)
    assert response.status_code == 302 and 'X-Bad' not in response.headers
    assert 'Location' not in response.headers


def test_item_download_revision_cannot_inject_a_header(env):
    api, token = env
    item, _ = _bitstream(api, token, 'plain.txt')
    response = api.session.post(api.url, params={
        'method': 'midas.item.download', 'id': item, 'token': token,
        'revision': '1\r\nX-Injected: yes'}, allow_redirects=False, timeout=QUICK)
    assert response.status_code == 302
    assert 'X-Injected' not in response.headers and 'Location' not in response.headers
    response = api.session.post(api.url, params={
        'method': 'midas.item.download', 'id': item, 'token': token, 'revision': '1'},
        allow_redirects=False, timeout=QUICK)
    assert response.headers['Location'].startswith('/download/?items=%s,1&authToken=' % item)


def test_link_with_a_line_break_redirects_without_location(env):
    api, token = env
    link = api.ok('midas.link.create', token=token, folderid='2',
                  url='http://example.org/a\nb', itemname='link')
    response = api.session.get(api.server.url + '/download/', params={
        'items': link['item_id'], 'authToken': token}, allow_redirects=False, timeout=QUICK)
    assert response.status_code == 302 and 'Location' not in response.headers


def test_file_named_with_a_line_break_is_sent_without_content_disposition(env):
    api, token = env
    _, bitstream_id = _bitstream(api, token, 'two\nlines.txt', b'payload')
    lines = _raw_head(api.server, '/download/?bitstream=%s&authToken=%s' % (bitstream_id,
                                                                            token))
    _well_formed(lines)
    assert lines[0] == b'HTTP/1.1 200 OK'
    assert not [line for line in lines if line.lower().startswith(b'content-disposition')]
    response = api.session.get(api.server.url + '/download/', params={
        'bitstream': bitstream_id, 'authToken': token, 'name': 'x\r\nX-Bad: 1'},
        timeout=QUICK)
    assert response.content == b'payload'
    assert 'X-Bad' not in response.headers and 'Content-Disposition' not in response.headers


def test_zip_of_an_item_named_with_a_line_break(env):
    api, token = env
    item, _ = _bitstream(api, token, 'a.txt', item_name='multi\nline')
    api.upload(token, item, 'b.txt', b'second', revision='head')
    lines = _raw_head(api.server, '/download/?items=%s&authToken=%s' % (item, token))
    _well_formed(lines)
    assert b'Content-Type: application/x-zip' in lines
    assert not [line for line in lines if line.lower().startswith(b'content-disposition')]


def test_quote_and_non_ascii_names_are_sent_as_midas_sends_them(env):
    api, token = env
    _, quoted = _bitstream(api, token, 'say "hi".txt')
    _, accented = _bitstream(api, token, 'caf\u00e9 \u6587.txt', item_name='other')
    lines = _raw_head(api.server, '/download/?bitstream=%s&authToken=%s' % (quoted, token))
    _well_formed(lines)
    # unescaped inside the quotes, as PHP's header() gets it from Midas
    assert b'Content-Disposition: attachment; filename="say "hi".txt"' in lines
    lines = _raw_head(api.server, '/download/?bitstream=%s&authToken=%s' % (accented, token))
    _well_formed(lines)
    assert ('Content-Disposition: attachment; filename="caf\u00e9 \u6587.txt"'
            .encode('utf-8')) in lines  # raw UTF-8 bytes
    # the redirect carries the name unencoded too (as raw UTF-8); requests follows it
    response = api.session.post(api.url, params={
        'method': 'midas.bitstream.download', 'id': accented, 'token': token},
        timeout=QUICK)
    assert response.status_code == 200 and response.content == b'data'
    assert response.history[0].headers['Location'].encode('latin-1').decode('utf-8') \
        .startswith('/download/?bitstream=%s&offset=0&name=caf\u00e9 \u6587.txt' % accented)
