"""The HTTP layer of the embedded Midas server: parsing, routing, response writing
(connections, timeouts and workers are :mod:`pydas.testing.connections`).

Handlers registered with :func:`pydas.testing.registry.api_method` receive one
:class:`Call`:

* ``call.param(name, default=None)``: a parameter (query string wins over a POST form
  body, as in PHP); every value is a ``str``.
* ``call.has(name)``: presence flag (``head``, ``reuseExisting``...: any value counts).
* ``call.require(name)``: the value, or ``ApiError(-150, 'Parameter NAME is not defined')``;
  ``call.require(name, module=True)`` fails like module APIs do
  (``ApiError(-1, 'Parameter NAME must be set.')``).
* ``call.user``: the caller's user dict, None when anonymous (no ``token``); an unknown or
  expired token raises ``ApiError(-101, 'Invalid token')``. Resolved on first access only,
  so methods that never look at the caller ignore bad tokens, as Midas does.
* ``call.token``: the valid token string (after ``call.user``), for ``authToken`` in
  download redirects.
* ``call.verb`` ('GET', 'POST', 'PUT'...), ``call.method`` (as sent), ``call.headers``.
* ``call.body``: the raw request body (PUT, or POST that is not a form) as a stream with
  ``read(size)``; read it in chunks, never whole.
* ``call.files``: multipart file parts spooled to disk, ``{field: FilePart(filename, path,
  size, checksum)}``; a handler may move ``path`` away, else it is deleted after the call.
* ``call.store`` (:class:`pydas.testing.storage.Store`), ``call.server``
  (:class:`pydas.testing.server.MidasServer`; ``call.server.modules`` lists the enabled
  modules), ``call.base_url`` (``http://host:port``).

Handlers return the envelope's ``data``, a :class:`~pydas.testing.registry.Redirect`, or
raise :class:`~pydas.testing.registry.ApiError`; raising :class:`FatalError` gives the
HTML error page of a PHP fatal error (HTTP 500) instead of an envelope.
"""

import collections
import contextlib
import email.message
import email.parser
import email.policy
import email.utils
import hashlib
import html
import http.server
import logging
import os
import secrets
import socket
import time
import traceback
from urllib.parse import parse_qsl, urlsplit

from pydas.testing import envelope, registry
from pydas.testing.connections import KEEP_ALIVE_LINGER, SocketReader, SocketWriter

LOG = logging.getLogger('pydas.testing')
CHUNK = 1 << 20
DRAIN_LIMIT = 64 << 20
# multipart: the largest header block of a part and non-file field kept (PHP has limits too)
HEADER_LIMIT = 64 << 10
FIELD_LIMIT = 1 << 20
# a form body kept in memory: PHP's post_max_size default; beyond, the form is ignored
FORM_LIMIT = 8 << 20
# PHP's max_input_vars default: the fields of a form beyond are ignored
MAX_INPUT_VARS = 1000
CONTROL_LIMIT = 64 << 10
HEX_DIGITS = b'0123456789abcdefABCDEF'
API_PATHS = ('/api/json', '/api/index/json', '/api/rest')
FAULTS_PATH = '/__pydas__/faults'
MISSING_METHOD = b'Inconsistent request: please set a method parameter'
SESSION_HEADERS = (('Expires', 'Thu, 19 Nov 1981 08:52:00 GMT'),
                   ('Cache-Control', 'no-store, no-cache, must-revalidate'),
                   ('Pragma', 'no-cache'))
HTML_TYPE = 'text/html; charset=UTF-8'
# The source location of the pages of failures without a known one (uncaught exceptions).
APP_CONTROLLER = 'MIDAS_ROOT/core/AppController.php'
ERROR_PAGE = (
    '<link href="/core/public/css/error/error.error.css" rel="stylesheet" type="text/css"/>\n'
    '\n<div class="viewMain">\n    <h1>An error occurred</h1><div class="errorMessage">'
    'The system has encountered the following error:<br/><h3>{message}<br/>In {where}, '
    'line: {line}<br/>At {stamp}</h3><br/>Please notify your administrator with this '
    'information.<br/></div></div>\n')

# PHP's header() refuses a value holding CR, LF or NUL: it warns and sends no such header.
# Midas builds Location and Content-Disposition from names users chose (bitstream, item
# and folder names, the ``name``/``revision`` parameters, link URLs), so a name with a
# line break gives a 302 without Location, or a file without Content-Disposition. The
# same here: such a header is dropped, never sent broken (a bare LF would end the header
# block early or make clients wait for a body that never comes).
REFUSED_IN_HEADERS = ('\r', '\n', '\0')

RecordedCall = collections.namedtuple('RecordedCall', 'verb method query form headers')


class FatalError(Exception):
    """A failure that Midas reports as a PHP fatal error: HTTP 500 and an HTML page.

    :param where: the PHP source file the page names
    :param line: the line in that file
    """

    def __init__(self, message, where=APP_CONTROLLER, line=0):
        super().__init__(message)
        self.where = where
        self.line = line


class ConnectionCut(Exception):
    """Raised when a fault drops the connection in the middle of a request body."""


def error_page(message, where=APP_CONTROLLER, line=0):
    """The HTML error page Midas prints for a fatal error, as bytes."""
    stamp = time.strftime('%H:%M:%S %Y-%m-%d')
    return ERROR_PAGE.format(message=message, where=where, line=line,
                             stamp=stamp).encode('utf-8')


class Response(object):
    """A response to write: status, header pairs and a body.

    :param body: bytes, or an iterable of byte chunks (streamed)
    :param length: the ``Content-Length`` to announce for a streamed body; None streams
        with chunked transfer encoding
    :param close: close the connection after the body (needed when the body is shorter
        than the announced length)
    """

    def __init__(self, status, headers, body=b'', length=None, close=False):
        self.status = status
        self.headers = list(headers)
        self.body = body
        self.length = len(body) if isinstance(body, bytes) else length
        self.close = close


class FileBody(object):
    """A response body read from a file from ``start`` on: sent with ``socket.sendfile``
    (zero copy), or iterated in chunks when a fault must cut it.

    :param on_complete: called once the whole rest of the file was sent, or None
    """

    def __init__(self, path, start=0, on_complete=None):
        self.path = path
        self.start = start
        self.on_complete = on_complete

    def __iter__(self):
        with open(self.path, 'rb') as handle:
            handle.seek(self.start)
            yield from iter(lambda: handle.read(CHUNK), b'')
        self._completed()

    def send(self, connection):
        """Send the file over a connected socket."""
        with open(self.path, 'rb') as handle:
            connection.sendfile(handle, self.start)
        self._completed()

    def _completed(self):
        if self.on_complete is not None:
            self.on_complete()


def php_headers(content_type=HTML_TYPE, type_header='Content-Type'):
    """The headers every PHP page of Midas sends (session cookie, no caching)."""
    cookie = 'PHPSESSID=%s; path=/; HttpOnly' % secrets.token_hex(16)
    return ([('X-Powered-By', 'PHP/8.2.36'), ('Set-Cookie', cookie)] + list(SESSION_HEADERS)
            + [(type_header, content_type)])


class BodyReader(object):
    """The request body as a stream: ``Content-Length`` or chunked transfer encoding.

    :param cut_after: drop the connection (raise :class:`ConnectionCut`) once this many
        body bytes have been read, or None
    """

    def __init__(self, rfile, length, chunked, cut_after=None):
        self._rfile = rfile
        self._left = length if not chunked else 0
        self._chunked = chunked
        self._done = not chunked and not length
        self._cut_after = cut_after
        self._failure = None
        self.bytes_read = 0

    @property
    def finished(self):
        """Whether the whole body has been read."""
        return self._done

    @property
    def remaining(self):
        """Bytes still to read if known (None for chunked bodies)."""
        return None if self._chunked else self._left

    def _next_chunk(self):
        line = self._rfile.readline(1024)
        if not line:
            raise ConnectionCut()
        digits = line.split(b';')[0].strip()
        if not digits or len(digits) > 16 or digits.strip(HEX_DIGITS):
            self._failure = BadRequest('invalid chunk size %r' % digits[:32])
            raise self._failure
        size = int(digits, 16)
        if size == 0:
            while self._rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                pass
            self._done = True
        self._left = size

    def _allowance(self, size):
        """How many bytes the next read may take (0 at the end of the body)."""
        if self._failure is not None:
            raise self._failure
        if self._chunked and self._left == 0 and not self._done:
            self._next_chunk()
        if self._done or self._left == 0:
            self._done = True
            return 0
        size = min(size, self._left)
        if self._cut_after is not None:
            size = min(size, self._cut_after - self.bytes_read)
            if size <= 0:
                raise ConnectionCut()
        return size

    def _consumed(self, count):
        if not count:
            raise ConnectionCut()
        self._left -= count
        self.bytes_read += count
        if self._left == 0:
            if self._chunked:
                self._rfile.readline(16)
            else:
                self._done = True

    def read(self, size=CHUNK):
        """Read up to ``size`` bytes; ``b''`` at the end of the body."""
        size = self._allowance(size)
        data = self._rfile.read(size) if size else b''
        if size:
            self._consumed(len(data))
        return data

    def readinto(self, buffer):
        """Fill a writable buffer (a ``memoryview``) from the body without an extra copy.

        :returns: the number of bytes read: ``len(buffer)`` unless the body ended first
        :raises ConnectionCut: if the connection ends before any byte was read (a cut
            after some bytes is raised by the next call, so that the caller keeps them)
        :raises BadRequest: likewise, for a malformed chunk size
        """
        filled = 0
        while filled < len(buffer):
            try:
                size = self._allowance(len(buffer) - filled)
                if not size:
                    break
                # SocketReader.readinto reads large requests straight from the socket.
                count = self._rfile.readinto(buffer[filled:filled + size])
                self._consumed(count)
            except (ConnectionCut, BadRequest):
                if filled:
                    break
                raise
            filled += count
        return filled

    def read_at_most(self, limit):
        """The rest of the body as bytes, or None if it is longer than ``limit`` (the
        bytes beyond are left unread)."""
        if self.remaining is not None and self.remaining > limit:
            return None
        data = bytearray()
        while len(data) <= limit:
            chunk = self.read(min(CHUNK, limit + 1 - len(data)))
            if not chunk:
                return bytes(data)
            data += chunk
        return None

    def drain(self, limit):
        """Discard up to ``limit`` unread bytes; return whether the body is finished."""
        while not self._done and limit > 0:
            limit -= len(self.read(min(CHUNK, limit)))
        return self._done


class Call(object):
    """One API call as handlers see it (see the module docstring)."""

    def __init__(self, server, verb, method, query, form, files, headers, body, base_url):
        self.server = server
        self.store = server.store
        self.verb = verb
        self.method = method
        self.query = query
        self.form = form
        self.files = files
        self.headers = headers
        self.body = body
        self.base_url = base_url
        self.params = dict(form)
        self.params.update(query)
        self._user = None
        self._resolved = False
        self.token = None

    def param(self, name, default=None):
        """The value of a parameter, or ``default`` when absent."""
        return self.params.get(name, default)

    def has(self, name):
        """Whether a parameter is present (whatever its value)."""
        return name in self.params

    def require(self, name, module=False):
        """The value of a required parameter; fail as Midas does when it is missing."""
        if name not in self.params:
            if module:
                raise registry.ApiError(-1, 'Parameter %s must be set.' % name)
            raise registry.ApiError(-150, 'Parameter %s is not defined' % name)
        return self.params[name]

    @property
    def user(self):
        """The caller (user dict), None if anonymous; a bad token fails with -101."""
        if not self._resolved:
            token = self.params.get('token')
            if token is not None:
                self._user = self.store.user_for_token(token)
                if self._user is None:
                    raise registry.ApiError(-101, 'Invalid token')
                self.token = token
            self._resolved = True
        return self._user


def serve_connection(midas, connection):
    """Serve the requests of a connection whose buffer holds a complete request head.

    Pipelined requests already received are served too.

    :returns: whether to keep the connection open for another request
    """
    reader = SocketReader(connection.sock, connection.buffer)
    handler = RequestHandler(midas, connection, reader)
    while True:
        handler.handle_one_request()
        if handler.close_connection:
            return False
        connection.buffer = bytearray(reader.pending)
        ready = connection.receive_head(KEEP_ALIVE_LINGER)
        if not ready:
            return ready is not None
        handler.rfile = reader = SocketReader(connection.sock, connection.buffer)


class BadRequest(Exception):
    """The request is malformed (its body framing): answered with HTTP 400."""


class RequestHandler(http.server.BaseHTTPRequestHandler):
    """Parses one request, routes it, and writes the response in one ``sendall``.

    Made per connection by :func:`serve_connection` (not by ``socketserver``).
    """

    protocol_version = 'HTTP/1.1'
    server_version = 'Apache'
    sys_version = ''

    def __init__(self, midas, connection, reader):
        self.midas = midas
        self.connection = self.request = connection.sock
        self.client_address = connection.address
        self.rfile = reader
        self.wfile = SocketWriter(connection.sock)
        self.close_connection = True
        self.command = self.requestline = None

    def log_message(self, format, *args):
        LOG.debug('%s - %s', self.address_string(), format % args)

    def parse_request(self):
        if not self.raw_requestline.strip():  # a blank line where the request line goes
            self.send_error(400, 'Bad request syntax')
            return False
        return super().parse_request()

    def send_error(self, code, message=None, explain=None):
        """Answer a request that could not be parsed: a status line (even for a request
        line without a version), the headers PHP pages send, and close."""
        LOG.debug('%s - refused: %d %s', self.address_string(), code, message)
        self.close_connection = True
        self._body_reader = None
        self._respond(Response(code, php_headers(), error_page(
            html.escape(message or self.responses.get(code, ('Error',))[0]))))

    def handle_one_request(self):
        self._body_reader = self._spooled_parts = None
        try:
            super().handle_one_request()
        except ConnectionCut:
            self._drop()
        except BadRequest as error:
            self._refuse(error)
        except (OSError, socket.timeout):
            self.close_connection = True

    def _refuse(self, error):
        """Answer a malformed request with 400 (before any response byte) and close."""
        try:
            self.send_error(400, 'Bad Request: %s' % error)
        except OSError:
            pass

    def _route(self):
        midas = self.midas
        url = urlsplit(self.path)
        path = url.path.rstrip('/') or '/'
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if path == FAULTS_PATH:
            command = self._body().read_at_most(CONTROL_LIMIT)
            if command is None:
                raise BadRequest('fault command too long')
            return self._respond(midas.faults.control(self.command, command))
        if path in API_PATHS:
            return self._api(query)
        controller = midas.routes.get(path)
        if controller is None:
            return self._respond(Response(404, php_headers(), error_page('Page not found')))
        midas.record(self.command, None, query, {}, self.headers)
        return self._serve(None, lambda: controller(self._call(None, query, {}, {}, None)))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _route

    def _body(self, cut_after=None):
        """The body reader; :class:`BadRequest` if its framing headers are invalid."""
        encodings = self.headers.get_all('Transfer-Encoding') or []
        chunked = any('chunked' in value.lower() for value in encodings)
        lengths = set(self.headers.get_all('Content-Length') or [])
        if encodings and not chunked:
            raise BadRequest('unsupported transfer coding')
        length = 0
        if lengths and not chunked:
            text = lengths.pop().strip()
            if lengths or not (text.isascii() and text.isdigit()):
                raise BadRequest('invalid Content-Length')
            length = int(text)
        return BodyReader(self.rfile, length, chunked, cut_after)

    def _call(self, method, query, form, files, body):
        host = self.headers.get('Host') or '%s:%d' % self.connection.getsockname()[:2]
        return Call(self.midas, self.command, method, query, form, files,
                    dict(self.headers), body, 'http://' + host)

    def _api(self, query):
        midas = self.midas
        body = self._body(midas.faults.take_request_cut(query.get('method')))
        form, files = self._form(body)
        method = form.get('method') if 'method' not in query else query['method']
        midas.record(self.command, method, query, form, self.headers)
        self._body_reader = body
        self._spooled_parts = files
        try:
            if method is None:
                return self._respond(Response(200, php_headers(type_header='Content-type'),
                                              MISSING_METHOD))
            call = self._call(method, query, form, files, body)
            return self._serve(method, lambda: self._run(call))
        finally:
            self._remove_spooled_parts()

    def _remove_spooled_parts(self):
        """Delete the spooled file parts no handler took (before the response is written,
        so that a client seeing the answer finds no scratch file left)."""
        parts = getattr(self, '_spooled_parts', None) or {}
        self._spooled_parts = None
        for part in parts.values():
            with contextlib.suppress(FileNotFoundError):
                os.remove(part.path)

    def _form(self, body):
        content_type = self.headers.get('Content-Type', '')
        if self.command != 'POST':
            return {}, {}
        if content_type.startswith('application/x-www-form-urlencoded'):
            data = body.read_at_most(FORM_LIMIT)
            # PHP ignores a POST body beyond post_max_size (and warns): no form at all
            return parse_form(data.decode('utf-8', 'replace')) if data is not None else {}, {}
        if content_type.startswith('multipart/form-data'):
            return parse_multipart(content_type, body, self.midas.store.temp_path)
        return {}, {}

    def _run(self, call):
        handler = registry.resolve(call.method, call.server.modules)
        if handler is None:
            return _envelope(envelope.failure(
                -101, 'Server error. Requested method %s does not exist.' % call.method))
        try:
            result = handler(call)
        except registry.ApiError as error:
            return _envelope(envelope.failure(error.code, error.message))
        if isinstance(result, registry.Redirect):
            headers = php_headers(type_header='Content-type')
            headers.insert(-1, ('Location', result.location))
            return Response(302, headers)
        return _envelope(envelope.success(result))

    def _serve(self, method, produce):
        """Apply the faults, produce the response (catching fatal errors), write it."""
        faults = self.midas.faults
        faults.apply_delay(method)
        injected = faults.take_failure(method)
        if injected is not None:
            return self._respond(injected)
        try:
            response = produce()
        except (ConnectionCut, ConnectionError, BadRequest, socket.timeout):
            raise
        except FatalError as error:
            response = Response(500, php_headers(),
                                error_page(str(error), error.where, error.line))
        except Exception as error:  # a bug here shows as a PHP fatal error would
            LOG.error('internal error in %s\n%s', method, traceback.format_exc())
            response = Response(500, php_headers(), error_page(str(error)))
        cut = faults.take_response_cut(method) if response.length != 0 else None
        return self._respond(response, cut)

    def _finish_body(self):
        body = getattr(self, '_body_reader', None)
        self._body_reader = None
        if body is None:
            return
        # a body longer than the drain limit is not read: the connection closes instead
        if (body.remaining or 0) > DRAIN_LIMIT or not body.drain(DRAIN_LIMIT):
            self.close_connection = True

    def _respond(self, response, cut_after=None):
        self._finish_body()
        self._remove_spooled_parts()
        head = ['HTTP/1.1 %d %s' % (response.status, self.responses.get(
            response.status, ('Error',))[0]),
            'Date: ' + email.utils.formatdate(usegmt=True)]
        head.extend('%s: %s' % pair for pair in _sendable(response.headers))
        streamed = not isinstance(response.body, bytes)
        if streamed and response.length is None:
            head.append('Transfer-Encoding: chunked')
        else:
            head.append('Content-Length: %d' % response.length)
        if response.close:
            self.close_connection = True
        if self.close_connection:
            head.append('Connection: close')
        head = ('\r\n'.join(head) + '\r\n\r\n').encode('utf-8')
        if self.command == 'HEAD':
            return self._write(head, cut_after=None)
        if not streamed:
            return self._write(head + response.body, len(head), cut_after)
        self._write(head)
        self._stream(response, cut_after)

    def _stream(self, response, cut_after):
        chunked = response.length is None
        if isinstance(response.body, FileBody) and cut_after is None and not chunked:
            return response.body.send(self.connection)
        sent = 0
        for chunk in response.body:
            if not chunk:
                continue
            if cut_after is not None and sent + len(chunk) > cut_after:
                chunk = chunk[:cut_after - sent]
                self.wfile.write(b'%x\r\n%s' % (len(chunk), chunk) if chunked else chunk)
                return self._drop()
            sent += len(chunk)
            self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            self.wfile.write(b'0\r\n\r\n')
        close = getattr(response.body, 'close', None)
        if close is not None:
            close()

    def _write(self, data, head_length=0, cut_after=None):
        if cut_after is not None and len(data) - head_length > cut_after:
            self.wfile.write(data[:head_length + cut_after])
            return self._drop()
        self.wfile.write(data)

    def _drop(self):
        """Close the connection abruptly (a fault, or the client went away)."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _sendable(headers):
    """The headers PHP would send: those whose value holds CR, LF or NUL are dropped."""
    for name, value in headers:
        if any(character in value for character in REFUSED_IN_HEADERS):
            LOG.warning('header %s not sent: its value holds a line break', name)
        else:
            yield name, value


def _envelope(body):
    return Response(200, php_headers(), body)


def parse_form(text):
    """The fields of a urlencoded form, the first :data:`MAX_INPUT_VARS` only (as PHP)."""
    fields = text.split('&', MAX_INPUT_VARS)[:MAX_INPUT_VARS]
    return dict(parse_qsl('&'.join(fields), keep_blank_values=True))


FilePart = collections.namedtuple('FilePart', 'filename path size checksum')


def parse_multipart(content_type, body, spool_path):
    """Split a streamed multipart/form-data body into fields and file parts.

    File parts go to disk chunk by chunk (hashed on the way), so memory stays flat
    whatever their size; a part cut short by the end of the body is dropped, as PHP does.

    :param body: the body, with ``read(size)``
    :param spool_path: callable returning a fresh file path for each file part
    :returns: ``(form, files)``: field -> str, field -> :class:`FilePart`
    """
    boundary = email.message.Message()
    boundary['Content-Type'] = content_type
    boundary = boundary.get_param('boundary')
    form, files = {}, {}
    if not boundary:
        return form, files
    reader = _MultipartReader(body, b'\r\n--' + boundary.encode('latin-1'))
    spooled = []
    budget = FORM_LIMIT
    try:
        # A preamble, then each part follows a delimiter; '--' after one ends the body.
        if not reader.skip_to_delimiter():
            return form, files
        while reader.next_part():
            headers = reader.part_headers()
            if headers is None:
                break
            name = headers.get_param('name', header='content-disposition')
            filename = headers.get_filename()
            if filename is None:
                # fields are kept in memory: FIELD_LIMIT each, FORM_LIMIT and
                # MAX_INPUT_VARS in all (the rest is read and dropped)
                field = bytearray()
                room = min(FIELD_LIMIT, budget) if len(form) < MAX_INPUT_VARS else 0
                if reader.copy_part(lambda data: field.extend(data[:room - len(field)])) \
                        and room:
                    form[name] = field.decode('utf-8', 'replace')
                    budget -= len(field)
                continue
            spooled.append(spool_path())
            digest = hashlib.md5()
            with open(spooled[-1], 'wb') as spool:
                complete = reader.copy_part(lambda data: (spool.write(data),
                                                          digest.update(data)))
            if complete and name is not None:
                files[name] = FilePart(filename, spooled[-1], os.path.getsize(spooled[-1]),
                                       digest.hexdigest())
    except BaseException:  # a cut connection: hand out nothing
        files.clear()
        raise
    finally:  # keep only the files handed out (the last part of each name)
        kept = {part.path for part in files.values()}
        for path in spooled:
            if path not in kept:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
    return form, files


class _MultipartReader(object):
    """A window over the body that finds delimiters across chunk borders."""

    def __init__(self, body, delimiter):
        self._body = body
        self._delimiter = delimiter
        # The first delimiter may open the body: a virtual CRLF lets one search find it.
        self._buffer = bytearray(b'\r\n')

    def _fill(self):
        data = self._body.read(CHUNK)
        self._buffer += data
        return bool(data)

    def _emit(self, emit, end):
        with memoryview(self._buffer) as view, view[:end] as data:
            emit(data)

    def _find(self, needle, emit=None):
        """Drop (or pass to ``emit``) the bytes before ``needle``, and ``needle`` too.

        :returns: whether ``needle`` was found before the end of the body
        """
        while True:
            found = self._buffer.find(needle)
            if found >= 0:
                if emit is not None and found:
                    self._emit(emit, found)
                del self._buffer[:found + len(needle)]
                return True
            # keep a tail that may be the start of a needle cut by the chunk border
            passed = len(self._buffer) - (len(needle) - 1)
            if passed > 0:
                if emit is not None:
                    self._emit(emit, passed)
                del self._buffer[:passed]
            if not self._fill():
                return False

    def skip_to_delimiter(self):
        """Skip the preamble and the first delimiter."""
        return self._find(self._delimiter)

    def next_part(self):
        """After a delimiter: whether a part follows (not the closing ``--``)."""
        while len(self._buffer) < 2 and self._fill():
            pass
        return len(self._buffer) >= 2 and self._buffer[:2] != b'--'

    def part_headers(self):
        """The headers of the current part as a message, or None if cut short or too long.

        The buffer starts at the end of the delimiter line (padding, CRLF), so the
        headers end at the first empty line even when there are none.
        """
        lines = bytearray()
        found = self._find(b'\r\n\r\n',
                           lambda data: lines.extend(data[:HEADER_LIMIT + 1 - len(lines)]))
        if not found or len(lines) > HEADER_LIMIT:
            return None
        return email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(
            bytes(lines.partition(b'\r\n')[2]) + b'\r\n\r\n')

    def copy_part(self, emit):
        """Pass the content of the current part to ``emit``; whether it was complete."""
        return self._find(self._delimiter, emit)
