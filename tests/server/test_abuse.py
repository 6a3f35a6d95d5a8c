"""The embedded server under abuse, over real sockets: idle and half-open connections,
timeouts, the connection bound, malformed framing, huge bodies, out-of-range ids.

Threads and memory are read from /proc (the server runs in this process).
"""

import contextlib
import inspect
import itertools
import re
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from midas_api import Api
from polling import poll
from pydas.testing import MidasServer, registry
from pydas.testing.connections import Limits

MIB = 1 << 20


def _status(field):
    """A field of /proc/self/status as an integer (kB for memory fields)."""
    with open('/proc/self/status') as handle:
        for line in handle:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def threads():
    """How many threads this process runs (the kernel's count)."""
    return _status('Threads')


def reset_peak_rss():
    """Start measuring the peak RSS from now (writes 5 to /proc/self/clear_refs)."""
    with open('/proc/self/clear_refs', 'w') as handle:
        handle.write('5')


def peak_rss_mib():
    """The peak RSS since :func:`reset_peak_rss`, in MiB."""
    return _status('VmHWM') / 1024


def connect(server):
    address = urlsplit(server.url)
    sock = socket.create_connection((address.hostname, address.port))
    sock.settimeout(10)
    return sock


def read_response(sock):
    """The bytes the server sends until it closes the connection (or 10 s pass)."""
    data = bytearray()
    with contextlib.suppress(OSError):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return bytes(data)


def version_call(server):
    """The whole answer to ``midas.version`` on a new connection (closed after it)."""
    with connect(server) as sock:
        sock.sendall(b'GET /api/json?method=midas.version HTTP/1.1\r\nHost: x\r\n'
                     b'Connection: close\r\n\r\n')
        return read_response(sock)


@pytest.fixture
def server():
    with MidasServer() as started:
        yield started


def test_idle_and_half_open_connections_cost_no_thread(server):
    before = threads()
    held = []
    try:
        for number in range(400):
            sock = connect(server)
            if number % 4 == 0:  # half-sent headers (slowloris)
                sock.sendall(b'GET /api/json?method=midas.version HTTP/1.1\r\nHost: x\r\n')
            held.append(sock)
        assert poll(lambda: server.open_connections == 400)
        started = time.monotonic()
        assert b'"stat":"ok"' in version_call(server)
        assert time.monotonic() - started < 1
        assert threads() <= min(before + 4, 64)
    finally:
        for sock in held:
            sock.close()
    assert poll(lambda: server.open_connections == 0)
    assert poll(lambda: threads() <= before, timeout=10)


def test_timeouts_close_idle_slow_and_stalled_connections():
    limits = Limits(header_timeout=0.3, body_timeout=0.3, idle_timeout=0.3)
    with MidasServer(limits=limits) as server:
        idle, slow, stalled = connect(server), connect(server), connect(server)
        slow.sendall(b'GET /api/json?method=midas.version HTTP/1.1\r\n')
        stalled.sendall(b'POST /api/json?method=midas.version HTTP/1.1\r\nHost: x\r\n'
                        b'Content-Type: application/x-www-form-urlencoded\r\n'
                        b'Content-Length: 100\r\n\r\nabc')
        assert read_response(slow).startswith(b'HTTP/1.1 408 ')
        assert read_response(idle) == b''
        assert read_response(stalled) == b''
        assert poll(lambda: server.open_connections == 0)
        # a keep-alive connection is closed once idle after its answer
        with requests.Session() as session:
            assert session.get(server.url + '/api/json?method=midas.version').ok
            assert poll(lambda: server.open_connections == 0)


def test_connections_beyond_the_bound_get_503():
    with MidasServer(limits=Limits(max_connections=5)) as server:
        held = [connect(server) for _ in range(5)]
        assert poll(lambda: server.open_connections == 5)
        extra = connect(server)
        assert read_response(extra).startswith(b'HTTP/1.1 503 Service Unavailable')
        held.pop().close()
        assert poll(lambda: server.open_connections == 4)
        assert requests.get(server.url + '/api/json?method=midas.version').ok
        for sock in held:
            sock.close()


def test_workers_bound_the_requests_processed_at_once():
    with MidasServer(workers=2) as server:
        running, most = [0], [0]
        lock = threading.Lock()
        release = threading.Event()
        original = server.faults.apply_delay

        def hold(method):  # count the requests inside the server at once
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            release.wait(5)
            with lock:
                running[0] -= 1
            original(method)

        server.faults.apply_delay = hold
        calls = [threading.Thread(target=requests.get, args=(
            server.url + '/api/json?method=midas.version',)) for _ in range(6)]
        for call in calls:
            call.start()
        assert poll(lambda: running[0] == 2)
        assert not poll(lambda: running[0] > 2, timeout=0.3)
        server.set_workers(3)
        assert poll(lambda: running[0] == 3)
        release.set()
        for call in calls:
            call.join(5)
        assert most[0] == 3
        assert requests.post(server.url + '/__pydas__/faults',
                             json={'action': 'workers', 'count': 1}).json() == {'ok': True}
        assert server.limits.workers == 1


MALFORMED = [
    b'Content-Length: abc\r\n',
    b'Content-Length: -5\r\n',
    b'Content-Length: 5\r\nContent-Length: 6\r\n',
    b'Transfer-Encoding: gzip\r\n',
]


@pytest.mark.parametrize('framing', MALFORMED + [b'bad chunk size'])
def test_malformed_requests_get_400_and_no_traceback(server, framing, capfd):
    sock = connect(server)
    head = (b'POST /api/json?method=midas.version HTTP/1.1\r\nHost: x\r\n'
            b'Content-Type: application/x-www-form-urlencoded\r\n')
    if framing == b'bad chunk size':
        sock.sendall(head + b'Transfer-Encoding: chunked\r\n\r\n3\r\na=b\r\nzz\r\n')
    else:
        sock.sendall(head + framing + b'\r\nhello')
    answer = read_response(sock)
    assert answer.startswith(b'HTTP/1.1 400 Bad Request\r\n')
    assert b'X-Powered-By: PHP/' in answer and b'Connection: close' in answer
    assert capfd.readouterr().err == ''
    assert Api(server).ok('midas.version')


@pytest.mark.parametrize('request_bytes, status', [
    (b'GARBAGE\r\n\r\n', 400),
    (b'GET\r\n\r\n', 400),
    (b'\r\n\r\n', 400),
    (b'GET /<script> HTTP/1.1 x\r\n\r\n', 400),
    (b'\xff\xfe / HTTP/1.1\r\n\r\n', 501),
    (b'GET /' + b'a' * 70000 + b' HTTP/1.1\r\n\r\n', 414),
    (b'GET /api/json HTTP/1.1\r\n' + b'X-A: b\r\n' * 200 + b'\r\n', 431),
    (b'GET /api/json HTTP/1.1\r\nX-A: ' + b'b' * 70000 + b'\r\n\r\n', 431),
])
def test_malformed_request_heads_get_a_status_line(server, request_bytes, status, capfd):
    sock = connect(server)
    sock.sendall(request_bytes)
    answer = read_response(sock)
    assert answer.startswith(b'HTTP/1.1 %d ' % status)
    assert b'<script>' not in answer
    assert capfd.readouterr().err == ''


def test_bad_chunk_size_during_an_upload_keeps_the_bytes_received(server, capfd):
    api = Api(server)
    token = api.login()
    item_id = api.ok('midas.item.create', token=token, parentid='2', name='u')['item_id']
    upload_token = api.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                          filename='u.bin')['token']
    sock = connect(server)
    sock.sendall(b'PUT /api/json?method=midas.upload.perform&uploadtoken=%s&filename=u.bin'
                 b'&length=100 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
                 b'a\r\n0123456789\r\nnot-hex\r\n' % upload_token.encode())
    assert read_response(sock).startswith(b'HTTP/1.1 400 ')
    assert api.ok('midas.upload.getoffset', uploadtoken=upload_token) == {'offset': '10'}
    assert capfd.readouterr().err == ''


def send_raw(server, head, chunks):
    """Send a request head and body chunks on a new connection; the answer's status line.

    The body is streamed from ``chunks`` (re-used blocks), so this process holds none of it.
    """
    with connect(server) as sock:
        sock.sendall(head)
        with contextlib.suppress(OSError):  # the server may refuse to read it all
            for chunk in chunks:
                sock.sendall(chunk)
        return read_response(sock).split(b'\r\n', 1)[0]


def repeated(block, total):
    """``total`` bytes as views of one block."""
    view = memoryview(block)
    for start in range(0, total, len(block)):
        yield view[:min(len(block), total - start)]


def chunked_encoding(parts):
    for part in parts:
        yield b'%x\r\n' % len(part)
        yield part
        yield b'\r\n'


def form_post(server, size, chunked=False):
    """POST a form ``method=midas.version&payload=yyy...`` of ``size`` payload bytes."""
    prefix = b'method=midas.version&payload='
    body = itertools.chain([prefix], repeated(b'y' * MIB, size))
    framing = (b'Transfer-Encoding: chunked' if chunked
               else b'Content-Length: %d' % (len(prefix) + size))
    if chunked:
        body = itertools.chain(chunked_encoding(body), [b'0\r\n\r\n'])
    return send_raw(server, b'POST /api/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
                    b'Content-Type: application/x-www-form-urlencoded\r\n%s\r\n\r\n'
                    % framing, body)


def test_memory_stays_bounded_whatever_the_body(server):
    api = Api(server)
    assert form_post(server, 10) == b'HTTP/1.1 200 OK'
    reset_peak_rss()
    start = peak_rss_mib()
    # a chunked form body (no length known in advance): 200 MiB, ignored beyond 8 MiB
    assert form_post(server, 200 * MIB, chunked=True) == b'HTTP/1.1 200 OK'
    # 30 forms of 20 MB with a length, and 20 of 5 MiB (under PHP's post_max_size)
    for size in [20 * 10 ** 6] * 30 + [5 * MIB] * 20:
        assert form_post(server, size) == b'HTTP/1.1 200 OK'
    # a 300 MiB body on a method that never reads it: drained up to a bound, then cut
    assert send_raw(server, b'PUT /api/json?method=midas.version HTTP/1.1\r\nHost: x\r\n'
                    b'Content-Length: %d\r\n\r\n' % (300 * MIB),
                    repeated(b'z' * MIB, 300 * MIB)) == b'HTTP/1.1 200 OK'
    # 300 MiB after an invalid length: refused at once
    assert send_raw(server, b'POST /api/json?method=midas.version HTTP/1.1\r\nHost: x\r\n'
                    b'Content-Length: 300MB\r\n\r\n',
                    repeated(b'z' * MIB, 300 * MIB)) == b'HTTP/1.1 400 Bad Request'
    assert peak_rss_mib() - start < 64
    payloads = [len(call.form['payload']) for call in server.calls if 'payload' in call.form]
    assert payloads == [10] + [1024] * 20  # the forms beyond 8 MiB were ignored
    assert len(server.calls) <= server.max_calls
    assert api.ok('midas.version')


def test_recorded_calls_are_bounded():
    with MidasServer(max_calls=10) as server:
        api = Api(server)
        for number in range(25):
            api.ok('midas.version', note=str(number))
        assert 5 <= len(server.calls) <= 10
        assert server.calls[-1].query['note'] == '24'


def _documented_params(handler):
    return set(re.findall(r':param (\w+):', inspect.getdoc(handler) or ''))


def test_ids_out_of_any_range_get_the_midas_envelope(midas_server, caplog):
    api = Api(midas_server)
    token = api.login()
    for name in registry.method_names(midas_server.modules):
        params = _documented_params(registry.resolve(name, midas_server.modules)) - {'token'}
        for huge in params | {'id'}:
            values = dict({param: '1' for param in params}, token=token)
            values[huge] = str(10 ** 30)
            answer = api.raw(name, **values)
            assert answer.status_code in (200, 302, 500), (name, huge)
            if answer.status_code == 200:
                assert answer.json()['stat'] in ('ok', 'fail'), (name, huge)
    # a 500 here is only ever one of Midas's own fatal error pages, never a crash of ours
    assert not [record for record in caplog.records if 'internal error' in record.message]


def test_item_move_from_a_folder_not_holding_it_links_the_destination_once(midas_server):
    api = Api(midas_server)
    token = api.login()
    item_id = api.ok('midas.item.create', token=token, parentid='2', name='m')['item_id']
    moved = api.ok('midas.item.move', token=token, id=item_id, srcfolderid='3',
                   dstfolderid='2')
    assert [folder['folder_id'] for folder in moved['owningfolders']] == ['2']
    assert moved['name'] == 'm'
    assert midas_server.query('SELECT folder_id FROM item2folder WHERE item_id = ?',
                              int(item_id)) == [{'folder_id': 2}]
