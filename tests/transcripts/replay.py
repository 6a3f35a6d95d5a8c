"""Replay the recorded Midas 3.4.2 transcripts against the embedded server.

The 134 files in ``data/`` were recorded in sequence against one fresh Midas 3.4.2
(1-99 core, 100-134 modules on the same server, see ``data/INDEX.md``). Each holds a
request line, an optional ``form: {json}`` line or ``request body: N bytes`` note,
``-> redirect`` hops, the ``HTTP`` status line, the response headers, a blank line and
the raw response body (the recorder appended one ``\\n`` to every body but 90's).

:class:`Replayer` sends the same requests, in order, to one embedded server and compares
every response with the recorded one. Values that differ between two servers (ids,
tokens, API keys, upload tokens, uuids, dates) are learnt as the replay goes: when a
recorded response holds such a value at some place, the live value at the same place is
bound to it, and later requests are rewritten through these bindings. A recorded id met
again must come back as the same live id, so the bindings check identity too.

Request bodies were not recorded; :func:`reconstructed_uploads` documents how each one
is rebuilt. Where the exact bytes are unknown the recorded checksum is bound to the
checksum of the rebuilt bytes before the replay starts.
"""

import hashlib
import io
import json
import random
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

DATA_DIR = Path(__file__).parent / 'data'
RECORDED_URL = 'http://127.0.0.1:8731'
RECORDED_ADMIN = ('admin@example.org', 'MidasAdmin123')

TOKEN_RE = re.compile(r'^[0-9A-Za-z]{32}$')
UPLOAD_TOKEN_RE = re.compile(r'^(\d+)/(\d+)/[0-9A-Za-z]{64}$')
UUID_RE = re.compile(r'^[0-9a-f]{32}$')
DATE_RE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
US_DATE_RE = re.compile(r'^\d\d/\d\d/\d{4}$')
DECIMAL_RE = re.compile(r'^\d+$')
HTTP_DATE_RE = re.compile(r'^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$')
ASSET_PATH_RE = re.compile(r'^[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{32})$')

#: The kind of object an id names, by the key that holds it (in responses and requests).
ID_KINDS = {
    'item_id': 'item', 'itemid': 'item', 'itemId': 'item', 'item': 'item', 'items': 'item',
    'folder_id': 'folder', 'parent_id': 'folder', 'parentid': 'folder', 'folderid': 'folder',
    'dstfolderid': 'folder', 'srcfolderid': 'folder',
    'bitstream_id': 'bitstream', 'bitstreamId': 'bitstream', 'bitstream': 'bitstream',
    'thumbnail_id': 'bitstream',  # a thumbnail is a bitstream outside any revision
    'itemrevision_id': 'itemrevision', 'user_id': 'user', 'community_id': 'community',
    'communityId': 'community', 'admingroup_id': 'group', 'moderatorgroup_id': 'group',
    'membergroup_id': 'group', 'metadata_id': 'metadata', 'scalar_id': 'scalar',
    'scalarIds': 'scalar', 'trend_id': 'trend', 'submission_id': 'submission',
    '_id': 'submission', 'producer_id': 'producer', 'itemthumbnail_id': 'itemthumbnail',
    'assetstore_id': 'assetstore', 'mfa_token_id': 'mfa_token', 'mfaTokenId': 'mfa_token',
}
#: Keys holding credentials: API tokens, API keys and upload tokens.
CREDENTIAL_KEYS = ('token', 'apikey', 'authToken')
#: Response headers and how they are compared; others are ignored (Date, Host, ...).
HEADER_RULES = {
    'content-type': 'exact', 'content-length': 'exact', 'content-disposition': 'exact',
    'content-transfer-encoding': 'exact', 'accept-ranges': 'exact', 'cache-control': 'exact',
    'pragma': 'exact', 'expires': 'exact', 'location': 'location',
    'x-powered-by': 'present', 'last-modified': 'http-date',
}
MAX_REPORTED = 25
#: Marks the requests that recreate unrecorded state (they are not compared).
SETUP_HEADER = 'X-Replay-Setup'


@dataclass
class Transcript:
    """One recorded call, parsed."""

    number: int
    label: str
    verb: str
    url: str
    form: dict = None
    body_size: int = None           # ``request body: N bytes`` (the bytes were not kept)
    redirects: list = field(default_factory=list)   # [(status, {header: value})]
    status: int = 0
    headers: list = field(default_factory=list)     # [(name, value)] as recorded
    body: bytes = b''
    omitted_body: tuple = None      # (size, md5) when the recorder left the body out

    @property
    def method(self):
        """The Midas API method named in the query string ('' when absent)."""
        return dict(parse_qsl(urlsplit(self.url).query)).get('method', '')

    @property
    def name(self):
        """A test id: number and label."""
        return '%03d_%s' % (self.number, self.label)


def parse_transcript(path):
    """Parse one transcript file (read as bytes: some bodies are binary).

    :param path: the file.
    :type path: pathlib.Path
    :rtype: Transcript
    """
    raw = path.read_bytes()
    head, _, body = raw.partition(b'\n\n')
    lines = head.decode('utf-8').split('\n')
    number, label = path.stem.split('_', 1)
    verb, url = lines[0].split(' ', 1)
    transcript = Transcript(int(number), label, verb, url)
    rest = lines[1:]
    while not rest[0].startswith('HTTP '):
        _parse_request_note(transcript, rest.pop(0))
    transcript.status = int(rest.pop(0).split()[1])
    transcript.headers = [tuple(line.split(': ', 1)) for line in rest]
    _parse_body(transcript, body)
    return transcript


def _parse_request_note(transcript, line):
    """Parse a line between the request line and the status line."""
    if line.startswith('form: '):
        transcript.form = json.loads(line[len('form: '):])
    elif line.startswith('request body: '):
        transcript.body_size = int(line.split()[2])
    elif line.startswith('-> redirect '):
        status, headers = line[len('-> redirect '):].split(' ', 1)
        transcript.redirects.append((int(status), json.loads(headers)))
    else:
        raise ValueError('transcript %d: unexpected line %r' % (transcript.number, line))


def _parse_body(transcript, body):
    """Store the body, minus the newline the recorder appended to it."""
    omitted = re.match(rb'^\[body omitted: (\d+) bytes, md5 ([0-9a-f]{32})\]\n?$', body)
    if omitted:
        transcript.omitted_body = (int(omitted.group(1)), omitted.group(2).decode())
        return
    # 26: Content-Length 102, 103 bytes on file. 90 was captured by hand without it.
    transcript.body = body[:-1] if body.endswith(b'\n') else body


def load_transcripts(directory=DATA_DIR):
    """All transcripts of ``directory``, in recording order.

    :rtype: list[Transcript]
    """
    paths = [p for p in directory.glob('*_*.txt') if p.name[0].isdigit()]
    return sorted((parse_transcript(p) for p in paths), key=lambda t: t.number)


def synthetic_png(width, height, size):
    """A valid RGB gradient PNG of exactly ``size`` bytes (padded with a tEXt chunk).

    :rtype: bytes
    """
    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xffffffff
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', crc)

    def row(y):
        pixels = ((x * 255 // width, y * 255 // height, 128) for x in range(width))
        return b'\0' + bytes(v for pixel in pixels for v in pixel)

    rows = b''.join(row(y) for y in range(height))
    header = chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
    image = b'\x89PNG\r\n\x1a\n' + header + chunk(b'IDAT', zlib.compress(rows, 9))
    end = chunk(b'IEND', b'')
    padding = size - len(image) - len(end) - 12 - len(b'Comment\0')
    if padding < 0:
        raise ValueError('a %dx%d gradient does not fit in %d bytes' % (width, height, size))
    return image + chunk(b'tEXt', b'Comment\0' + b' ' * padding) + end


@dataclass
class Upload:
    """The rebuilt body of an upload request and the recorded digests it stands for."""

    content: bytes
    stands_for: tuple = ()          # recorded md5 digests to bind to md5(content)
    with_newline_for: tuple = ()    # recorded md5 of (content + recorder's newline)


def reconstructed_uploads():
    """The request bodies the recorder did not keep, rebuilt, by transcript number.

    * 18 hello.txt: three times the text downloaded in 26 (md5 equals the recorded one).
    * 22 (truncated POST): 4000 arbitrary bytes; only the count is observable.
    * 64 image.png, 120 gradient.png (640x480): the originals are unknown; valid RGB
      gradients padded to the recorded sizes (7858, 355558 bytes) with a tEXt chunk.
    * 68 big.bin: the original 5 MiB are unknown (random); seeded pseudo-random bytes.
      Its recorded checksum and the md5 of the download in 69 are bound to ours.
    * 71 multi.txt: ``hello world`` (11 bytes, md5 equals the recorded checksum), sent
      as the multipart file part ``file``; the recorder logged only the extra non-file
      field ``file=x`` that multipart mode requires.
    * 115: 17 bytes of JSON (the method does not exist; only the count matters).
    * 127 notes.txt: 6 arbitrary bytes (no checksum was recorded).
    * 131 CT_small.dcm: pydicom's test file CT_small.dcm (39206 bytes, the size recorded;
      its tags are the 233 metadata of 133), taken from the installed ``pydicom``
      (see :func:`ct_small`): the file is not ours to ship.

    :rtype: dict[int, Upload]
    """
    big = random.Random(68).randbytes(5 * 1024 * 1024)
    return {
        18: Upload(b'Hello Midas!\nThis is a test file.\n' * 3),
        22: Upload(b'p' * 4000),
        64: Upload(synthetic_png(48, 48, 7858), ('3486e6569259b2271b08348a1f31074e',)),
        68: Upload(big, ('b291a31ae6998023f4522d453f09c05b',),
                   ('56edf8191cdaa48b6ac1232dfe89d5c8',)),
        71: Upload(b'hello world'),
        115: Upload(b'{"metric": 0.87}\n'),
        120: Upload(synthetic_png(640, 480, 355558), ('a9a3820b00ef1c7b801db663f0c45798',)),
        127: Upload(b'notes\n'),
        131: Upload(ct_small()),
    }


def ct_small():
    """The bytes of pydicom's test file ``CT_small.dcm`` (the body of transcript 131).

    :raises RuntimeError: if pydicom is not installed (the replay cannot run without it)
    """
    try:
        from pydicom.data import get_testdata_file
    except ImportError:
        raise RuntimeError('the transcript replay needs pydicom (its test file CT_small.dcm '
                           'is the body of transcript 131): pip install pydicom, or install '
                           'pydas with the "test" extra') from None
    return Path(get_testdata_file('CT_small.dcm')).read_bytes()


def md5(data):
    """The hex md5 digest of ``data``."""
    return hashlib.md5(data).hexdigest()


def short(value, limit=120):
    """``repr`` of a value, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def is_envelope(body):
    """Whether a body is a JSON web API envelope (an object with ``stat``)."""
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and 'stat' in document


def id_kind(key, method):
    """The kind of object the id under ``key`` names in a call of ``method`` (or None)."""
    if key == 'id':
        for area in ('item', 'folder', 'community', 'bitstream', 'user'):
            if method.startswith('midas.%s.' % area):
                return area
        return None
    return ID_KINDS.get(key)


class Bindings:
    """Recorded values bound to live ones: ids per kind, and other strings."""

    def __init__(self, live_url):
        self.live_url = live_url
        self.values = {}            # recorded string -> live string
        self.ids = {}               # (kind, recorded id) -> live id
        self.session_token = None   # the live token of the latest login

    def value(self, recorded):
        """The live counterpart of a recorded string (itself when unbound)."""
        if recorded in self.values:
            return self.values[recorded]
        if recorded == '<session token>':
            return self.session_token
        return recorded.replace(RECORDED_URL, self.live_url)

    def id(self, kind, recorded):
        """The live id bound to a recorded id (itself when unbound)."""
        return self.ids.get((kind, recorded), recorded)

    def bind_id(self, kind, recorded, live):
        """Bind or check an id; return a problem description or None."""
        known = self.ids.get((kind, recorded))
        if known is not None:
            if known != live:
                return 'recorded %s id %s was live %s before, now %s' % (
                    kind, recorded, known, live)
            return None
        for (other_kind, other), bound in self.ids.items():
            if other_kind == kind and bound == live:
                return 'live %s id %s already stands for recorded %s, not %s' % (
                    kind, live, other, recorded)
        self.ids[(kind, recorded)] = live
        return None


class Comparison:
    """Compares one recorded response with the live one and collects the differences."""

    def __init__(self, transcript, bindings, sent_values):
        self.transcript = transcript
        self.bindings = bindings
        self.echoed = sent_values       # recorded request values (echoes compare exactly)
        self.problems = []

    def fail(self, where, message):
        """Record a difference at ``where``."""
        self.problems.append('%s: %s' % (where, message))

    def expect_equal(self, where, expected, live, recorded=None):
        """Record a difference unless ``live == expected``."""
        if live != expected:
            shown = '' if recorded in (None, expected) else ' (recorded %s)' % short(recorded)
            self.fail(where, 'expected %s, live %s%s' % (short(expected), short(live), shown))

    def expect_match(self, where, pattern, live, what):
        """Record a difference unless ``live`` is a string matching ``pattern``."""
        if not isinstance(live, str) or not pattern.match(live):
            self.fail(where, 'expected %s, live %s' % (what, short(live)))

    def tree(self, where, recorded, live, key=None):
        """Compare two JSON values: structure, key order, types and normalised values."""
        if type(recorded) is not type(live):
            self.fail(where, 'expected a %s, live %s' % (type(recorded).__name__, short(live)))
        elif isinstance(recorded, dict):
            self.mapping(where, recorded, live)
        elif isinstance(recorded, list):
            if len(recorded) != len(live):
                self.fail(where, 'expected %d elements, live %d' % (len(recorded), len(live)))
            for index, (rec, got) in enumerate(zip(recorded, live)):
                self.tree('%s[%d]' % (where, index), rec, got, key)
        elif isinstance(recorded, str):
            self.string(where, key, recorded, live)
        else:
            self.expect_equal(where, recorded, live)

    def mapping(self, where, recorded, live):
        """Compare two JSON objects: the same keys in the same order, then each value."""
        if list(recorded) != list(live):
            missing = [k for k in recorded if k not in live]
            extra = [k for k in live if k not in recorded]
            detail = 'missing %s, extra %s' % (missing, extra) if missing or extra else \
                'order %s, live %s' % (list(recorded), list(live))
            self.fail(where, 'keys differ: %s' % detail)
        for key in recorded:
            if key in live:
                self.tree('%s.%s' % (where, key), recorded[key], live[key], key)

    def string(self, where, key, recorded, live):
        """Compare two strings according to what the key holds."""
        kind = id_kind(key, self.transcript.method) if key else None
        if kind:
            self.identifier(where, kind, recorded, live)
        elif recorded.startswith('{') and _json_object(recorded) is not None:
            parsed = _json_object(live) if isinstance(live, str) else None
            if parsed is None:
                self.fail(where, 'expected a JSON object string, live %s' % short(live))
            else:
                self.tree(where + '<json>', _json_object(recorded), parsed)
        elif key in CREDENTIAL_KEYS and (TOKEN_RE.match(recorded)
                                         or UPLOAD_TOKEN_RE.match(recorded)):
            self.credential(where, recorded, live)
        elif recorded in self.echoed:
            self.expect_equal(where, self.bindings.value(recorded), live, recorded)
        elif key == 'uuid' and UUID_RE.match(recorded):
            self.uuid(where, recorded, live)
        else:
            self.plain(where, key, recorded, live)

    def plain(self, where, key, recorded, live):
        """Dates, tree indexes, checksums, asset paths and exact values."""
        if DATE_RE.match(recorded):
            self.expect_match(where, DATE_RE, live, 'a date YYYY-MM-DD HH:MM:SS')
        elif US_DATE_RE.match(recorded):
            self.expect_match(where, US_DATE_RE, live, 'a date MM/DD/YYYY')
        elif key in ('left_index', 'right_index'):
            # Nested-set indexes: the API document lets an emulator return any consistent
            # integers, and 100-134 ran after unrecorded calls.
            self.expect_match(where, DECIMAL_RE, live, 'a decimal index')
        elif ASSET_PATH_RE.match(recorded):
            checksum = self.bindings.value(ASSET_PATH_RE.match(recorded).group(1))
            expected = '%s/%s/%s' % (checksum[:2], checksum[2:4], checksum)
            self.expect_equal(where, expected, live, recorded)
        else:
            self.expect_equal(where, self.bindings.value(recorded), live, recorded)

    def identifier(self, where, kind, recorded, live):
        """Ids: the live id bound to the recorded one (bound here on first sight)."""
        if not DECIMAL_RE.match(recorded):     # '', '-1' (home folder parent), ...
            self.expect_equal(where, recorded, live)
        elif not isinstance(live, str) or not DECIMAL_RE.match(live):
            self.fail(where, 'expected a %s id, live %s' % (kind, short(live)))
        else:
            problem = self.bindings.bind_id(kind, recorded, live)
            if problem:
                self.fail(where, problem)

    def credential(self, where, recorded, live):
        """API tokens and keys (32 alphanumerics) and upload tokens (user/item/64)."""
        upload = UPLOAD_TOKEN_RE.match(recorded)
        if upload:
            self.expect_match(where, UPLOAD_TOKEN_RE, live, 'an upload token <id>/<id>/<64>')
            if isinstance(live, str) and UPLOAD_TOKEN_RE.match(live):
                live_parts = UPLOAD_TOKEN_RE.match(live)
                self.identifier(where + '<user>', 'user', upload.group(1), live_parts.group(1))
                self.identifier(where + '<item>', 'item', upload.group(2), live_parts.group(2))
        else:
            self.expect_match(where, TOKEN_RE, live, 'a token of 32 [0-9A-Za-z]')
        if isinstance(live, str):
            self.bindings.values[recorded] = live     # a re-login may legitimately rebind
            if not upload and where.endswith('data.token'):
                self.bindings.session_token = live

    def uuid(self, where, recorded, live):
        """Uuids: 32 hex digits, the same live uuid for the same recorded one."""
        self.expect_match(where, UUID_RE, live, 'a uuid of 32 hex digits')
        known = self.bindings.values.get(recorded)
        if known is None:
            self.bindings.values[recorded] = live
        else:
            self.expect_equal(where, known, live, recorded)


def _json_object(text):
    """``text`` parsed as a JSON object, or None."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def compare_headers(comparison, where, recorded_headers, live_headers):
    """Compare the recorded response headers that matter with the live ones.

    :param recorded_headers: ``[(name, value)]`` or ``{name: value}`` as recorded.
    :param live_headers: the live headers (case-insensitive mapping).
    """
    items = recorded_headers.items() if isinstance(recorded_headers, dict) \
        else recorded_headers
    for name, recorded in items:
        rule = HEADER_RULES.get(name.lower())
        place = '%s header %s' % (where, name)
        live = live_headers.get(name)
        if rule is None:
            continue
        if live is None:
            comparison.fail(place, 'missing (recorded %s)' % short(recorded))
        elif rule == 'exact':
            comparison.expect_equal(place, recorded, live)
        elif rule == 'http-date':
            comparison.expect_match(place, HTTP_DATE_RE, live, 'an HTTP date')
        elif rule == 'location':
            compare_location(comparison, place, recorded, live)
    names = {name.lower() for name, _ in items}
    for name in ('location', 'content-disposition'):
        if name not in names and name in live_headers:
            comparison.fail('%s header %s' % (where, name),
                            'unexpected %s' % short(live_headers[name]))


def compare_location(comparison, where, recorded, live):
    """Compare redirect targets: the same path and query, ids and tokens bound."""
    rec, got = urlsplit(recorded), urlsplit(live)
    comparison.expect_equal(where + ' path', rec.path, got.path)
    rec_query, live_query = parse_qsl(rec.query), parse_qsl(got.query)
    comparison.expect_equal(where + ' parameters', [k for k, _ in rec_query],
                            [k for k, _ in live_query])
    live_values = dict(live_query)
    for key, value in rec_query:
        if key in live_values:
            comparison.string('%s ?%s' % (where, key), key, value, live_values[key])


def normalise_error_page(body):
    """An HTML error page without its time stamp and source file path."""
    body = re.sub(rb'At \d\d:\d\d:\d\d \d{4}-\d\d-\d\d', b'At <time>', body)
    # The recorder cut the path in 134 only ('MIDAS_ROOT/...'): it is not comparable.
    return re.sub(rb'In MIDAS_ROOT/[^<]*?, line:', b'In MIDAS_ROOT/<file>, line:', body)


def compare_bytes(comparison, where, expected, live):
    """Compare raw bodies; report the first differing offset."""
    if expected == live:
        return
    offset = next((i for i, (a, b) in enumerate(zip(expected, live)) if a != b),
                  min(len(expected), len(live)))
    comparison.fail(where, '%d bytes expected, %d live, first difference at %d: '
                    'expected %s, live %s' % (len(expected), len(live), offset,
                                              short(expected[offset:offset + 60]),
                                              short(live[offset:offset + 60])))


def compare_zip(comparison, where, recorded, live):
    """Compare zip archives by entry names and contents (their time stamps differ)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(live))
    except zipfile.BadZipFile:
        comparison.fail(where, 'live body is not a zip archive: %s' % short(live[:60]))
        return
    expected = zipfile.ZipFile(io.BytesIO(recorded))
    comparison.expect_equal(where + ' entries', expected.namelist(), archive.namelist())
    for name in expected.namelist():
        if name in archive.namelist():
            compare_bytes(comparison, '%s entry %s' % (where, name), expected.read(name),
                          archive.read(name))


def compare_body(comparison, transcript, response):
    """Compare the final response body: envelope tree, zip, error page or bytes."""
    live = response.content
    if transcript.omitted_body:
        size, digest = transcript.omitted_body
        comparison.expect_equal('body size', size - 1, len(live))
        comparison.expect_equal('body md5 (with the recorder newline)',
                                comparison.bindings.value(digest), md5(live + b'\n'), digest)
    elif is_envelope(transcript.body):
        try:
            document = json.loads(live)
        except ValueError:
            comparison.fail('body', 'expected a JSON envelope, live %s' % short(live[:200]))
            return
        comparison.tree('envelope', json.loads(transcript.body), document)
    elif transcript.body.startswith(b'PK\x03\x04'):
        compare_zip(comparison, 'body', transcript.body, live)
    elif transcript.status >= 500:
        compare_bytes(comparison, 'body', normalise_error_page(transcript.body),
                      normalise_error_page(live))
    else:
        compare_bytes(comparison, 'body', transcript.body, live)


def compare_response(comparison, transcript, response):
    """Compare status, redirect hops, headers and body of one call."""
    hops = response.history
    comparison.expect_equal('redirect hops', [s for s, _ in transcript.redirects],
                            [hop.status_code for hop in hops])
    for index, ((status, headers), hop) in enumerate(zip(transcript.redirects, hops)):
        compare_headers(comparison, 'redirect %d' % index, headers, hop.headers)
    comparison.expect_equal('HTTP status', transcript.status, response.status_code)
    if transcript.headers:      # 90 was captured without headers
        compare_headers(comparison, 'response', transcript.headers, response.headers)
    compare_body(comparison, transcript, response)


class Replayer:
    """Sends the transcripts' requests to a live server in order and compares the answers.

    :param server: a started :class:`pydas.testing.MidasServer` (recorded modules).
    :param transcripts: the parsed transcripts, in recording order.
    """

    def __init__(self, server, transcripts):
        self.server = server
        self.transcripts = transcripts
        self.uploads = reconstructed_uploads()
        self.bindings = Bindings(server.url)
        self.overrides = {}         # recorded value -> live value, set by _before
        self.otp = None             # callable giving the current OTP, set by _before
        self._bind_known_values()

    def _bind_known_values(self):
        """Bind the admin credentials and the digests of rebuilt uploads."""
        values = self.bindings.values
        values[RECORDED_ADMIN[0]] = self.server.admin_email
        values[RECORDED_ADMIN[1]] = self.server.admin_password
        for upload in self.uploads.values():
            for digest in upload.stands_for:
                values[digest] = md5(upload.content)
            for digest in upload.with_newline_for:
                values[digest] = md5(upload.content + b'\n')

    def run(self):
        """Replay every transcript; return ``{number: [difference, ...]}``."""
        results = {}
        for transcript in self.transcripts:
            self._before(transcript)
            try:
                results[transcript.number] = self.replay(transcript)
            except Exception as error:  # one broken call must not hide the others
                results[transcript.number] = ['replay failed: %r' % (error,)]
        return results

    def _before(self, transcript):
        """Recreate what the recording did outside the transcripts.

        * 100-103 ran as the admin with an ``oath_hotp`` device (which accepts any OTP),
          removed again before 104. Here they run as a user created with an OTP device:
          the admin's e-mail and API key are rewritten to that user's, and ``otp`` is
          that user's current code.
        * Ids of 1-99 are forgotten: 100-134 name objects by ids bound there again.
        * 112 found an item ``result.nrrd`` in the admin's Private folder, left by
          unrecorded calls (the answer is named ``result.nrrd (1)``); one is created.
        """
        if transcript.number == 100:
            # Unrecorded calls ran in between; their deletions let SQLite hand out some
            # ids again (123's itemthumbnail_id is 1 again), so ids are learnt anew.
            self.bindings.ids.clear()
            user = self.server.add_user('otp-user@example.org', 'otp-password', 'Otp',
                                        'User', mfa=True)
            self.overrides = {RECORDED_ADMIN[0]: user['email'],
                              'QJEM3VDtlbxM9bmJrtdm9fdDOrbB4dRi': user['api_key']}
            self.otp = lambda: self.server.totp(user['email'])
        elif transcript.number == 104:
            self.overrides, self.otp = {}, None
        elif transcript.number == 112:
            form = {'token': self.bindings.value('phUh3ScUn5MFcu6C18KEX6l94H3B2c3M'),
                    'parentid': self.bindings.id('folder', '2'), 'name': 'result.nrrd'}
            requests.post(self.server.url + '/api/json?method=midas.item.create',
                          data=form, headers={SETUP_HEADER: '1'}, timeout=60)

    def rewrite(self, method, name, value):
        """A recorded request parameter rewritten for the live server."""
        value = str(value)
        if name == 'otp' and self.otp:
            return self.otp()
        if value in self.overrides:
            return self.overrides[value]
        kind = id_kind(name, method)
        if kind:
            return ','.join(self.bindings.id(kind, part) for part in value.split(','))
        return self.bindings.value(value)

    def request(self, transcript):
        """The live request: ``(verb, url, keyword arguments for requests)``."""
        method = transcript.method
        parts = urlsplit(transcript.url)
        query = [(k, self.rewrite(method, k, v))
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        url = '%s%s%s' % (self.server.url, parts.path, '?' + urlencode(query) if query else '')
        options = {'allow_redirects': bool(transcript.redirects), 'timeout': 120}
        upload = self.uploads.get(transcript.number)
        if transcript.form is not None:
            options['data'] = {k: self.rewrite(method, k, v) for k, v in transcript.form.items()}
            if 'file' in transcript.form and upload:    # the file part was not logged
                filename = dict(query).get('filename', 'file')
                options['files'] = {'file': (filename, upload.content)}
        elif upload:
            options['data'] = upload.content
        return transcript.verb, url, options

    def replay(self, transcript):
        """Send one transcript's request; return the differences found."""
        verb, url, options = self.request(transcript)
        response = requests.request(verb, url, **options)
        comparison = Comparison(transcript, self.bindings, sent_values(transcript))
        compare_response(comparison, transcript, response)
        return comparison.problems


def sent_values(transcript):
    """The recorded values of a transcript's request parameters."""
    values = {v for _, v in parse_qsl(urlsplit(transcript.url).query)}
    values.update(str(v) for v in (transcript.form or {}).values())
    return values - {''}


def format_problems(transcript, problems):
    """A readable failure message for one transcript."""
    lines = ['transcript %s: %s %s' % (transcript.name, transcript.verb, transcript.method)]
    lines += ['  ' + p for p in problems[:MAX_REPORTED]]
    if len(problems) > MAX_REPORTED:
        lines.append('  ... and %d more' % (len(problems) - MAX_REPORTED))
    return '\n'.join(lines)
