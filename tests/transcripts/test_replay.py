"""Replay of the 134 recorded Midas 3.4.2 transcripts against the embedded server.

``test_transcript`` runs the whole replay once (it is sequential and state dependent) on
one fresh ``MidasServer(modules=MidasServer.RECORDED_MODULES)`` and then checks each
transcript's own differences, so one failure does not hide the others.

The other tests check the harness itself: the parser against ``INDEX.md``, the rebuilt
upload bodies, the comparator on altered answers, and a full replay against a playback
server that answers with the recordings (which must show no difference and receive
exactly the recorded requests).
"""

import json
import re
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

import replay

TRANSCRIPTS = replay.load_transcripts()
BY_NUMBER = {t.number: t for t in TRANSCRIPTS}


@pytest.fixture(scope='module')
def live_results():
    """The differences of every transcript, replayed in order on one fresh server."""
    from pydas.testing import MidasServer

    with MidasServer(modules=MidasServer.RECORDED_MODULES) as server:
        return replay.Replayer(server, TRANSCRIPTS).run()


@pytest.mark.parametrize('transcript', TRANSCRIPTS, ids=lambda t: t.name)
def test_transcript(transcript, live_results):
    """The embedded server answers like the recorded Midas 3.4.2."""
    problems = live_results[transcript.number]
    assert not problems, replay.format_problems(transcript, problems)


def index_rows():
    """``(number, HTTP, stat, code)`` of every row of INDEX.md."""
    text = (replay.DATA_DIR / 'INDEX.md').read_text(encoding='utf-8')
    rows = re.findall(r'^\| (\d+) \| .*? \| (\d+)[^|]*\| (\w*) \| (-?\d*) \|', text, re.M)
    return [(int(n), int(status), stat, code) for n, status, stat, code in rows]


def test_parser_agrees_with_index():
    """All 134 files parse, and status, stat and code agree with INDEX.md."""
    assert [t.number for t in TRANSCRIPTS] == list(range(1, 135))
    rows = index_rows()
    assert len(rows) == 134
    for number, status, stat, code in rows:
        transcript = BY_NUMBER[number]
        assert transcript.status == status, number
        if stat:
            envelope = json.loads(transcript.body)
            assert (envelope['stat'], envelope['code']) == (stat, code), number
        else:
            assert not replay.is_envelope(transcript.body or b'-'), number


def test_parser_details():
    """Forms, body notes, redirect hops and the recorder's trailing newline."""
    assert BY_NUMBER[4].form == {'email': 'admin@example.org', 'password': 'MidasAdmin123'}
    assert BY_NUMBER[68].body_size == 5242880
    assert BY_NUMBER[26].redirects[0][0] == 302
    assert BY_NUMBER[26].body == b'Hello Midas!\nThis is a test file.\n' * 3
    assert BY_NUMBER[25].body == b''
    assert BY_NUMBER[69].omitted_body == (5242881, '56edf8191cdaa48b6ac1232dfe89d5c8')
    assert BY_NUMBER[90].headers == [] and BY_NUMBER[90].body.endswith(b'"ok"}')
    assert BY_NUMBER[18].method == 'midas.upload.perform'


def test_reconstructed_uploads():
    """Rebuilt bodies have the recorded sizes, and the recorded md5 where it is known."""
    uploads = replay.reconstructed_uploads()
    for number, upload in uploads.items():
        assert len(upload.content) == BY_NUMBER[number].body_size or number == 71
    assert replay.md5(uploads[18].content) == '60536fb0fd4d43b82ed63e6395c14039'
    assert replay.md5(uploads[71].content) == '5eb63bbbe01eeed093cb22bb8f5acdc3'
    assert uploads[131].content[128:132] == b'DICM'
    for number, size in ((64, 7858), (120, 355558)):
        png = uploads[number].content
        assert png.startswith(b'\x89PNG\r\n\x1a\n') and len(png) == size
        idat_size = int.from_bytes(png[33:37], 'big')
        rows = zlib.decompress(png[41:41 + idat_size])
        width, height = int.from_bytes(png[16:20], 'big'), int.from_bytes(png[20:24], 'big')
        assert len(rows) == height * (1 + 3 * width)


def comparison(number):
    """A fresh comparison for transcript ``number`` with empty bindings."""
    transcript = BY_NUMBER[number]
    bindings = replay.Bindings('http://127.0.0.1:1')
    return replay.Comparison(transcript, bindings, replay.sent_values(transcript))


def recorded_data(number):
    """The recorded envelope of transcript ``number``."""
    return json.loads(BY_NUMBER[number].body)


def test_comparator_accepts_normalised_values():
    """Other ids, dates, uuids and tokens are accepted, and bound."""
    check = comparison(12)
    live = recorded_data(12)
    live['data'].update(folder_id='40', date_update='2030-01-02 03:04:05',
                        uuid='f' * 32, left_index='7')
    check.tree('envelope', recorded_data(12), live)
    assert check.problems == []
    assert check.bindings.ids[('folder', '5')] == '40'


def test_comparator_reports_differences():
    """Key order, types, list lengths, values, patterns and id identity are checked."""
    check = comparison(15)
    live = recorded_data(15)
    folder, item = live['data']['folders'][0], live['data']['items'][0]
    folder['parent_id'] = folder['folder_id']           # two recorded ids, one live id
    folder['date_update'] = '27/11/2026'
    item['name'] = 'other.txt'
    item['sizebytes'] = 0
    item['uuid'] = 'not-a-uuid'
    live['data']['items'].append(dict(item))
    live['data'] = dict(reversed(list(live['data'].items())))
    check.tree('envelope', recorded_data(15), live)
    text = '\n'.join(check.problems)
    for expected in ('envelope.data: keys differ: order', 'already stands for recorded',
                     'folders[0].date_update: expected a date',
                     "items[0].name: expected 'hello.txt', live 'other.txt'",
                     'items[0].sizebytes: expected a str', 'items: expected 1 elements, live 2',
                     'items[0].uuid: expected a uuid'):
        assert expected in text


def test_comparator_checks_upload_tokens_and_identity():
    """Upload tokens: pattern and the ids inside; a recorded id must stay the same."""
    check = comparison(16)
    check.bindings.ids[('item', '1')] = '9'
    live = recorded_data(16)
    live['data']['token'] = '1/8/' + 'a' * 64
    check.tree('envelope', recorded_data(16), live)
    assert check.problems == ['envelope.data.token<item>: recorded item id 1 was live 9 '
                              'before, now 8']


class Playback(BaseHTTPRequestHandler):
    """Answers the n-th request with the n-th recording and logs what it received."""

    transcripts = []
    position = 0
    received = []

    def log_message(self, *args):
        """Stay quiet."""

    def do_GET(self):
        """Serve the next recording (or its redirect hop)."""
        self.answer()

    do_POST = do_PUT = do_GET

    def answer(self):
        """Record the request; answer from the recording."""
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        if self.headers.get(replay.SETUP_HEADER):
            return self.send(200, [('Content-Type', 'text/html')], b'{}')
        if self.path.startswith('/download/'):
            transcript = self.transcripts[Playback.position - 1]
            return self.send(transcript.status, transcript.headers, self.content(transcript))
        transcript = self.transcripts[Playback.position]
        Playback.position += 1
        Playback.received.append((transcript, self.command, self.path, self.headers, body))
        if transcript.redirects:
            status, headers = transcript.redirects[0]
            return self.send(status, list(headers.items()), b'')
        self.send(transcript.status, transcript.headers, self.content(transcript))

    def content(self, transcript):
        """The recorded body; 69's was omitted: it is the rebuilt 5 MiB upload."""
        if transcript.omitted_body:
            return replay.reconstructed_uploads()[68].content
        url = 'http://127.0.0.1:%d' % self.server.server_port
        body = transcript.body.replace(replay.RECORDED_URL.encode(), url.encode())
        escaped = replay.RECORDED_URL.replace('/', '\\/'), url.replace('/', '\\/')
        return body.replace(escaped[0].encode(), escaped[1].encode())

    def send(self, status, headers, body):
        """Write a response with the recorded headers."""
        self.send_response_only(status)
        for name, value in headers or [('Content-Type', 'text/html; charset=UTF-8')]:
            if name.lower() not in ('connection', 'content-length'):
                self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(body)


class PlaybackServer:
    """Stands in for MidasServer: the recording's own credentials and OTP."""

    admin_email, admin_password = replay.RECORDED_ADMIN

    def __init__(self, url):
        self.url = url

    def add_user(self, email, password, firstname, lastname, admin=False, mfa=False):
        """The recording used the admin itself as the OTP user."""
        return {'email': 'admin@example.org', 'api_key': 'QJEM3VDtlbxM9bmJrtdm9fdDOrbB4dRi'}

    def totp(self, email):
        """The OTP the recording sent."""
        return '123456'


@pytest.fixture(scope='module')
def playback():
    """Replay results against the recordings themselves, and the requests received."""
    Playback.transcripts, Playback.position, Playback.received = TRANSCRIPTS, 0, []
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), Playback)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        server = PlaybackServer('http://127.0.0.1:%d' % httpd.server_port)
        replayer = replay.Replayer(server, TRANSCRIPTS)
        for upload in replayer.uploads.values():   # the recordings hold the originals
            for digest in upload.stands_for:
                del replayer.bindings.values[digest]
        yield replayer.run(), Playback.received
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_playback_shows_no_difference(playback):
    """Replaying against the recordings finds nothing: no false alarm in the harness."""
    results, _ = playback
    problems = {n: p for n, p in results.items() if p}
    assert not problems, '\n'.join(replay.format_problems(BY_NUMBER[n], p)
                                   for n, p in problems.items())


def test_playback_receives_the_recorded_requests(playback):
    """Every request is rebuilt as recorded: verb, path, query, form and body size."""
    _, received = playback
    assert [t.number for t, *_ in received] == list(range(1, 135))
    for transcript, verb, path, headers, body in received:
        recorded = urlsplit(transcript.url)
        assert (verb, urlsplit(path).path) == (transcript.verb, recorded.path)
        assert parse_qsl(urlsplit(path).query) == parse_qsl(recorded.query)
        if transcript.form and 'file' in transcript.form:
            assert b'filename="multi.txt"' in body and b'\r\nhello world\r\n' in body
            assert b'name="file"\r\n\r\nx\r\n' in body
        elif transcript.form is not None:
            form = {k: str(v) for k, v in transcript.form.items()}
            if form.get('token') == '<session token>':
                form['token'] = 'Tz2EV9ygZGJ2fAniMojtqomjCLNnert1'
            assert dict(parse_qsl(body.decode(), keep_blank_values=True)) == form, \
                transcript.name
        else:
            assert len(body) == (transcript.body_size or 0), transcript.name
