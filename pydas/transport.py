"""HTTP transport of pydas: one session, timeouts, safe retries, redaction.

Every driver of a :class:`pydas.core.Communicator` sends its requests through
one :class:`Transport`, which holds one ``requests.Session`` (keep-alive, one
connection pool), applies a :class:`Timeout` to every call and retries only
where a retry cannot do harm (:class:`Retry`):

* a connection that failed before the request was sent, for any method
  (but never a request with a streamed upload body);
* a broken connection (also an answer cut short, even among its headers) or an
  HTTP 502/503/504 (honouring ``Retry-After``) for the read-only methods of
  :data:`READ_ONLY_METHODS`.

An application error (``stat: fail``) is never retried. Secrets (password,
API key, tokens...) are redacted (:mod:`pydas.redaction`) from every log line,
including the ``urllib3`` request log, and from every exception.

The session pydas creates keeps no cookies and reads the environment once per
server; its calls skip the generic merging of ``Session.request`` (see
:meth:`Transport._send_prepared`), which costs as much CPU as the rest of a
small call.
"""

import email.utils
import http.cookiejar
import json
import logging
import os
import re
import ssl
import threading
import time
from urllib.parse import unquote, urlencode

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri
from urllib3.exceptions import NewConnectionError

from pydas import workers
from pydas.exceptions import ParseError, RequestError, SSLVerificationFailed, exception_class
from pydas.redaction import redact_text, redact_url, scrub_chain
from pydas.text import repair_text

logger = logging.getLogger('pydas')

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 300.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_FACTOR = 0.5
DEFAULT_BACKOFF_MAX = 30.0
DEFAULT_RETRY_STATUSES = (502, 503, 504)
# A longer Retry-After is cut to this many seconds (a pipeline must not hang for hours).
DEFAULT_RETRY_AFTER_MAX = 120.0
# Bytes per chunk read from a download or an upload file.
CHUNK_SIZE = 1024 * 1024
# Keep-alive connections a session pydas created keeps per server, at least: enough for
# the most files a transfer moves at once by default (pydas.workers.DEFAULT_JOBS) and the
# thread listing folders, so that starting a transfer keeps the connection already open.
DEFAULT_POOL_SIZE = 33
# The keyword arguments of Session.request that Transport._send_prepared handles itself.
_PREPARED_OPTIONS = frozenset(['params', 'data', 'auth', 'timeout', 'allow_redirects', 'stream',
                               'verify', 'cert', 'proxies'])

# A connection that failed or broke, also in the middle of an answer (which requests reports
# as a ChunkedEncodingError for any body cut short, chunked or not).
_BROKEN_CONNECTION = (requests.exceptions.ConnectionError,
                      requests.exceptions.ChunkedEncodingError)

#: What a refused certificate's message advises (the command line advises otherwise).
TLS_ADVICE = ('pass verify_ssl_certificate=False or the path of a CA bundle if the server is '
              'trusted')
# OpenSSL's reasons when the server answers in plain text (plain HTTP on an https:// URL).
_NOT_TLS_REASONS = frozenset(['WRONG_VERSION_NUMBER', 'RECORD_LAYER_FAILURE',
                              'PACKET_LENGTH_TOO_LONG', 'UNKNOWN_PROTOCOL'])

# Midas methods that change nothing on the server, so a repeated call is harmless.
# midas.login and midas.user.apikey.default are included: a repeated login returns the
# same token, and the default API key is only read.
READ_ONLY_METHODS = frozenset([
    'midas.version', 'midas.info', 'midas.modules.list', 'midas.methods.list',
    'midas.login', 'midas.user.apikey.default', 'midas.user.folders', 'midas.user.list',
    'midas.user.get', 'midas.community.get', 'midas.community.children',
    'midas.community.list', 'midas.folder.get', 'midas.folder.children',
    'midas.folder.download', 'midas.item.get', 'midas.item.getmetadata',
    'midas.item.download', 'midas.item.exists', 'midas.item.searchbyname',
    'midas.item.searchbynameandfolder', 'midas.item.searchbynameandfoldername',
    'midas.resource.search', 'midas.resource.get', 'midas.upload.getoffset',
    'midas.bitstream.get', 'midas.bitstream.download', 'midas.bitstream.count',
    'midas.solr.search.advanced',
])


class Timeout(object):
    """Timeouts of every HTTP call, in seconds.

    :param connect: time allowed to open the connection
    :type connect: float
    :param read: time allowed between two bytes of the answer
    :type read: float
    """

    def __init__(self, connect=DEFAULT_CONNECT_TIMEOUT, read=DEFAULT_READ_TIMEOUT):
        self.connect = connect
        self.read = read

    def as_requests(self):
        """Return the ``(connect, read)`` tuple ``requests`` takes."""
        return (self.connect, self.read)

    def __repr__(self):
        return 'Timeout(connect=%r, read=%r)' % (self.connect, self.read)


class Retry(object):
    """When and how long to wait before retrying a call (only where safe, see module doc).

    The n-th retry (n = 0, 1...) waits ``backoff_factor * 2 ** n`` seconds, at most
    ``backoff_max``, or the server's ``Retry-After`` (at most ``retry_after_max``).

    :param total: number of retries after the first attempt (0: never retry)
    :type total: int
    :param backoff_factor: seconds of the first wait
    :type backoff_factor: float
    :param backoff_max: longest wait between two attempts
    :type backoff_max: float
    :param statuses: HTTP statuses retried for read-only methods
    :type statuses: tuple[int]
    :param retry_after_max: longest ``Retry-After`` honoured
    :type retry_after_max: float
    """

    def __init__(self, total=DEFAULT_RETRIES, backoff_factor=DEFAULT_BACKOFF_FACTOR,
                 backoff_max=DEFAULT_BACKOFF_MAX, statuses=DEFAULT_RETRY_STATUSES,
                 retry_after_max=DEFAULT_RETRY_AFTER_MAX):
        self.total = total
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.statuses = tuple(statuses)
        self.retry_after_max = retry_after_max

    def delay(self, attempt, retry_after=None):
        """Return the seconds to wait before retry number ``attempt`` (from 0).

        :param attempt: how many retries were already made
        :type attempt: int
        :param retry_after: (optional) the ``Retry-After`` header of the answer
        :type retry_after: None | string
        :rtype: float
        """
        seconds = _parse_retry_after(retry_after)
        if seconds is not None:
            return min(seconds, self.retry_after_max)
        return min(self.backoff_factor * (2 ** attempt), self.backoff_max)

    def __repr__(self):
        return ('Retry(total=%r, backoff_factor=%r, backoff_max=%r, statuses=%r)'
                % (self.total, self.backoff_factor, self.backoff_max, self.statuses))


def _parse_retry_after(value):
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _RedactingFilter(logging.Filter):
    """Redacts secret query parameters from the request lines urllib3 logs."""

    def filter(self, record):
        if record.args:
            record.args = tuple(redact_url(arg) if isinstance(arg, str) else arg
                                for arg in record.args)
        record.msg = redact_url(str(record.msg))
        return True


def _install_urllib3_redaction():
    urllib3_logger = logging.getLogger('urllib3.connectionpool')
    if not any(isinstance(f, _RedactingFilter) for f in urllib3_logger.filters):
        urllib3_logger.addFilter(_RedactingFilter())


_install_urllib3_redaction()


def _root_cause(exc):
    """The innermost exception under a requests/urllib3 exception (it says what happened)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = (getattr(exc, 'reason', None) or exc.__cause__ or exc.__context__
                 or next((arg for arg in exc.args if isinstance(arg, BaseException)), None))
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def _not_sent(exc):
    """Whether a requests exception happened before any byte of the request was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    cause = exc
    for _ in range(10):
        if isinstance(cause, NewConnectionError):
            return True
        cause = getattr(cause, 'reason', None) or (cause.args[0] if cause.args else None)
        if not isinstance(cause, BaseException):
            return False
    return False


class _NoCookieJar(requests.cookies.RequestsCookieJar):
    """A cookie jar that keeps nothing, without parsing ``Set-Cookie`` on every answer."""

    def __init__(self):
        super(_NoCookieJar, self).__init__(
            http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    def extract_cookies(self, response, request):
        """Keep no cookie (see :class:`Transport`)."""


def _charset(headers):
    """The charset the Content-Type header names, as requests finds it, or None.

    requests before 2.33 raises AttributeError on ``...; charset`` without a value,
    which a connection broken in the middle of the headers leaves.
    """
    try:
        return requests.utils.get_encoding_from_headers(headers)
    except AttributeError:
        return None


class _CookielessAdapter(requests.adapters.HTTPAdapter):
    """The adapter of a session pydas creates: it leaves the cookies of answers unparsed.

    Midas sets a PHP session cookie on every answer; pydas keeps none (see
    :class:`_NoCookieJar`), yet requests would parse it into ``response.cookies``
    on every call.
    """

    def build_response(self, req, resp):
        """Build a ``requests.Response`` as ``HTTPAdapter`` does, without its cookies."""
        response = requests.Response()
        response.status_code = getattr(resp, 'status', None)
        response.headers = CaseInsensitiveDict(getattr(resp, 'headers', {}))
        response.encoding = _charset(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url
        response.request = req
        response.connection = self
        return response


class Transport(object):
    """Sends the HTTP requests of every driver of a communicator.

    :param session: (optional) the ``requests.Session`` to use (proxies, certificates,
        adapters); by default a new one, closed by :meth:`close`
    :type session: None | requests.Session
    :param timeout: (optional) timeouts of every call; a number means both
    :type timeout: None | float | Timeout
    :param retry: (optional) retry policy; ``0`` or ``False`` never retries
    :type retry: None | int | Retry
    """

    def __init__(self, session=None, timeout=None, retry=None):
        self.owns_session = session is None
        if session is None:
            session = requests.Session()
            # Midas binds a PHP session cookie to the user of each token; keeping it would
            # let a download authenticated by one user's token run as another's.
            session.cookies = _NoCookieJar()
            # requests reads the proxy variables and ~/.netrc again on every call (up to
            # ~0.7 ms): our own session reads them once per server (see _environment).
            session.trust_env = False
            _mount_adapters(session, DEFAULT_POOL_SIZE)
        self.session = session
        self._pool_size = DEFAULT_POOL_SIZE
        self._pool_lock = threading.Lock()
        self._environments = {}
        self._unverified = set()
        self._prepared_bases = {}
        if timeout is None:
            timeout = Timeout()
        elif isinstance(timeout, (int, float)):
            timeout = Timeout(timeout, timeout)
        self.timeout = timeout
        if retry is None:
            retry = Retry()
        elif not isinstance(retry, Retry):
            retry = Retry(total=int(retry))
        self.retry = retry

    def close(self):
        """Close the pooled connections (and the session, if this transport created it)."""
        if self.owns_session:
            self.session.close()

    def reserve_connections(self, count):
        """Let ``count`` threads keep a connection each to a server at once.

        Grows the connection pool of a session this transport created (a caller's
        session keeps its adapters); without it, connections beyond the pool's
        size would be closed after each request (urllib3 warns "Connection pool
        is full") and opened again for the next one.

        :param count: connections in use at once, at most
        :type count: int
        """
        with self._pool_lock:
            if not self.owns_session or count <= self._pool_size:
                return
            self._pool_size = count
            # The replaced adapters are not closed: other threads may be reading from them.
            _mount_adapters(self.session, count)

    def send(self, api_method, verb, url, secrets=(), replayable=True, **kwargs):
        """Send one HTTP request, retrying where safe, and return the response.

        :param api_method: the Midas API method (decides whether retries are safe)
        :type api_method: string
        :param verb: HTTP verb
        :type verb: string
        :param url: full URL
        :type url: string
        :param secrets: secret values to keep out of exception messages
        :type secrets: iterable[string]
        :param replayable: False when the body is a stream that cannot be sent twice
        :type replayable: bool
        :param kwargs: passed to ``requests.Session.request``
        :returns: the response, whatever its status
        :rtype: requests.Response
        :raises pydas.exceptions.SSLVerificationFailed: if the certificate is refused
        :raises pydas.exceptions.RequestError: if no answer came back
        """
        read_only = api_method in READ_ONLY_METHODS and replayable
        kwargs.setdefault('timeout', self.timeout.as_requests())
        if self.owns_session and not self.session.trust_env:
            self._apply_environment(url, kwargs)
        if kwargs.get('verify') is False:
            self._warn_unverified(url)
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                if self._plain_call(kwargs):
                    response = self._send_prepared(verb, url, kwargs)
                else:
                    response = self.session.request(verb, url, **kwargs)
                _check_answer_arrived(response, kwargs.get('stream', self.session.stream))
            except requests.exceptions.SSLError as exc:
                raise _tls_failure(api_method, url, exc, secrets) from exc
            except requests.exceptions.RequestException as exc:
                # A read timeout is not a broken connection: a slow server is not retried.
                retry_safe = (replayable and attempt < self.retry.total
                              and isinstance(exc, _BROKEN_CONNECTION)
                              and (read_only or _not_sent(exc)))
                if retry_safe:
                    self._wait(api_method, attempt, exc.__class__.__name__)
                    attempt += 1
                    continue
                raise RequestError(self._failure_message(api_method, url, exc, secrets),
                                   method=api_method, request=exc.request) from exc
            if response.status_code < 500 and replayable:
                # A body streamed from a file takes the time of its bytes, not of a round trip.
                workers.answered(time.monotonic() - started)
            if (read_only and response.status_code in self.retry.statuses
                    and attempt < self.retry.total):
                retry_after = response.headers.get('Retry-After')
                response.close()
                self._wait(api_method, attempt, 'HTTP %d' % response.status_code, retry_after)
                attempt += 1
                continue
            return response

    def _warn_unverified(self, url):
        """Say once per server, through ``logging``, that its certificate is not checked."""
        origin = _origin_of(url)
        if origin.lower().startswith('https:') and origin not in self._unverified:
            with self._pool_lock:
                first = origin not in self._unverified
                self._unverified.add(origin)
            if first:
                logger.warning('TLS certificate verification is off for %s: anyone on the '
                               'network path can read and change what is sent', origin)

    def _apply_environment(self, url, kwargs):
        """Give a call the settings ``trust_env`` would: proxies, ~/.netrc, CA bundle."""
        origin = _origin_of(url)
        environment = self._environments.get(origin)
        if environment is None:
            environment = self._environments[origin] = _environment(origin)
        proxies, netrc_auth, ca_bundle = environment
        if proxies and kwargs.get('proxies') is None:
            kwargs['proxies'] = proxies
        if netrc_auth and kwargs.get('auth') is None and self.session.auth is None:
            kwargs['auth'] = netrc_auth
        # Only HTTPS uses it (requests would stat the bundle path on every call regardless).
        if (ca_bundle and origin.lower().startswith('https:')
                and kwargs.get('verify', True) is True and self.session.verify is True):
            kwargs['verify'] = ca_bundle

    def _plain_call(self, kwargs):
        """Whether a call may skip ``Session.request`` (see :meth:`_send_prepared`)."""
        session = self.session
        return (self.owns_session and not session.trust_env
                and isinstance(session.cookies, _NoCookieJar) and session.auth is None
                and kwargs.get('auth') is None and not session.params
                and not any(session.hooks.values()) and _PREPARED_OPTIONS.issuperset(kwargs)
                and _sized_or_form(kwargs.get('data')))

    def _send_prepared(self, verb, url, kwargs):
        """Prepare the request of a plain call ourselves, then ``session.send`` it.

        ``Session.request`` merges cookies, hooks, parameters, authentication and
        settings of the call with the session's on every call, and parses the URL
        again (about 0.35 ms, as much as the rest of a small call). For the session
        this transport created, as long as it holds none of those (see
        :meth:`_plain_call`), the outcome is known: the session's headers, the
        body, and the call's settings over the session's.
        """
        session = self.session
        prepared = requests.PreparedRequest()
        prepared.method = verb
        prepared.url = self._prepared_url(url, kwargs.get('params'))
        prepared.headers = CaseInsensitiveDict(
            (name, value) for name, value in session.headers.items() if value is not None)
        prepared._cookies = session.cookies
        body = kwargs.get('data')
        if isinstance(body, dict):
            body = _form_encoded(body)
            if body:
                prepared.headers['Content-Type'] = 'application/x-www-form-urlencoded'
        if body:
            prepared.headers['Content-Length'] = str(len(body))
        else:  # requests sends any empty body as none
            body = None
            if verb not in ('GET', 'HEAD'):
                prepared.headers['Content-Length'] = '0'
        prepared.body = body
        proxies = dict(session.proxies)
        proxies.update(kwargs.get('proxies') or {})
        settings = {name: kwargs.get(name) for name in ('stream', 'verify', 'cert')}
        for name, value in settings.items():
            if value is None:
                settings[name] = getattr(session, name)
        return session.send(prepared, timeout=kwargs.get('timeout'), proxies=proxies,
                            allow_redirects=kwargs.get('allow_redirects', True), **settings)

    def _prepared_url(self, url, params):
        """The URL requests would send: its part before ``?`` checked and normalised by
        requests once, its query requoted, ``params`` appended."""
        base, _, query = url.partition('?')
        prepared_base = self._prepared_bases.get(base)
        if prepared_base is None:
            probe = requests.PreparedRequest()
            probe.prepare_url(base, None)  # raises InvalidURL, MissingSchema...
            prepared_base = self._prepared_bases[base] = probe.url
        query = requote_uri(query) if query else ''
        extra = _form_encoded(params or {})
        if extra:
            query = query + '&' + extra if query else extra
        return prepared_base + '?' + query if query else prepared_base

    def _wait(self, api_method, attempt, reason, retry_after=None):
        seconds = self.retry.delay(attempt, retry_after)
        logger.warning('%s: %s, retry %d of %d in %.1f s', api_method, reason, attempt + 1,
                       self.retry.total, seconds)
        time.sleep(seconds)

    def _failure_message(self, api_method, url, exc, secrets):
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            what = 'could not connect within %s s' % self.timeout.connect
        elif isinstance(exc, requests.exceptions.ReadTimeout):
            what = 'no answer within %s s (read timeout)' % self.timeout.read
        elif _not_sent(exc):
            what = 'could not connect'
        elif isinstance(exc, requests.exceptions.ChunkedEncodingError):
            what = 'the connection broke in the middle of the answer'
        elif isinstance(exc, requests.exceptions.ConnectionError):
            what = 'the connection broke'
        else:
            what = 'the request failed'
        cause = redact_text(str(_root_cause(exc)), secrets)
        return '%s (%s): %s: %s' % (api_method, _origin(url), what, cause)


def _tls_failure(api_method, url, exc, secrets):
    """The exception for a TLS failure: a refused certificate, or no TLS at all."""
    cause = _root_cause(exc)
    reason = redact_text(str(cause), secrets)
    if getattr(cause, 'reason', None) in _NOT_TLS_REASONS:
        return RequestError(
            '%s (%s): the server did not answer in TLS (%s): if it serves plain HTTP, its URL '
            'starts with http://, not https://' % (_origin(url), api_method, reason),
            method=api_method)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return SSLVerificationFailed('TLS certificate verification failed for %s (%s): %s; %s'
                                     % (_origin(url), api_method, reason, TLS_ADVICE),
                                     method=api_method)
    return SSLVerificationFailed('the TLS connection to %s failed (%s): %s'
                                 % (_origin(url), api_method, reason), method=api_method)


def _check_answer_arrived(response, streamed):
    """Raise the broken-connection error of requests for an empty 2xx answer that was to be
    read until the connection closed (no ``Content-Length``, not chunked): the connection
    broke before the body. http.client takes the end of the stream for the end of the
    headers, so even an answer cut among its headers looks like that. No Midas API answer is
    empty, but a redirect, which is not 2xx."""
    if streamed or not 200 <= response.status_code < 300 or response.content:
        return
    headers = response.headers
    if 'Content-Length' in headers or 'chunked' in headers.get('Transfer-Encoding', '').lower():
        return
    raise requests.exceptions.ChunkedEncodingError(
        'the connection closed before the answer had a body', request=response.request,
        response=response)


def _mount_adapters(session, pool_size):
    for prefix in ('https://', 'http://'):
        session.mount(prefix, _CookielessAdapter(pool_maxsize=pool_size))


def _sized_or_form(data):
    """Whether a request body is nothing, a form (dict) or bytes or a stream that has a length."""
    return data is None or isinstance(data, dict) or hasattr(data, '__len__')


def _form_encoded(fields):
    """``fields`` encoded as requests encodes a dict (``None`` values left out)."""
    return urlencode([(name, value) for name, value in fields.items() if value is not None],
                     doseq=True)


def _origin(url):
    """The URL without its query string (which may hold an upload token)."""
    return url.split('?', 1)[0]


def _origin_of(url):
    """``scheme://host:port`` of a URL: what proxy, netrc and CA settings depend on."""
    start = url.find('//') + 2
    end = url.find('/', start)
    return url if end < 0 else url[:end]


def _environment(origin):
    """Return ``(proxies, netrc auth, CA bundle)`` from the environment for a server.

    What ``requests`` computes on every call of a ``trust_env`` session, computed once per
    server by a :class:`Transport` that owns its session (a later change of the
    environment is not seen by that transport).
    """
    proxies = requests.utils.get_environ_proxies(origin + '/')
    netrc_auth = requests.utils.get_netrc_auth(origin + '/')
    ca_bundle = os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE')
    return proxies, netrc_auth, ca_bundle


def parse_envelope(response, api_method, secrets=()):
    """Return the ``data`` of a Midas JSON envelope, or raise the mapped exception.

    :param response: the answer to an API call
    :type response: requests.Response
    :param api_method: the Midas API method that was called
    :type api_method: string
    :param secrets: secret values of the call, removed from messages
    :type secrets: iterable[string]
    :returns: the envelope's ``data``, as sent by the server
    :raises pydas.exceptions.HTTPError: for an HTTP error status
    :raises pydas.exceptions.ParseError: if the body is not an envelope
    :raises pydas.exceptions.ResponseError: (or a subclass) for ``stat: fail``
    """
    status = response.status_code
    envelope, cause = None, None
    try:
        envelope = json.loads(response.content.decode('utf-8'))
    except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
        cause = exc
    except requests.exceptions.RequestException as exc:
        raise RequestError('%s: the connection broke while reading the answer from %s'
                           % (api_method, _origin(response.url)),
                           method=api_method, response=response) from exc
    if not (isinstance(envelope, dict) and 'stat' in envelope):
        # Raised from outside its except block, the exception would not scrub its cause
        # (a UnicodeDecodeError shows the bytes of the answer).
        scrub_chain(cause)
        if status >= 400:
            raise exception_class(status)(
                '%s: HTTP %d %s from %s' % (api_method, status, response.reason,
                                            _origin(response.url)),
                method=api_method, code=status, response=response) from cause
        # Not response.text: requests' charset guess fails on a Content-Type header cut
        # short by a broken connection ("...; charset").
        snippet = redact_text(response.content[:200].decode('utf-8', 'replace').strip(),
                              secrets)
        raise ParseError('%s: the server did not answer with a JSON envelope (HTTP %d, %s): %r'
                         % (api_method, status, response.headers.get('Content-Type'), snippet),
                         method=api_method, code=None, response=response) from cause
    if envelope['stat'] == 'ok' and status < 400:
        return envelope.get('data')
    code = _int_or_none(envelope.get('code'))
    raise exception_class(status, code)(
        _failure_text(api_method, code, envelope.get('message') or '', status, secrets),
        method=api_method, code=code, response=response)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _failure_text(api_method, code, message, status, secrets):
    if api_method == 'midas.login' and not message:
        # Midas 3.4.2 answers a wrong API key or application name with code 0 and no message.
        message = ('login failed: no API key matches this e-mail address and application '
                   'name (check the API key and the application)')
    elif not message:
        message = 'the server gave no message'
    text = '%s failed: %s (Midas code %s' % (api_method, redact_text(message, secrets), code)
    if status != 200:
        text += ', HTTP %d' % status
    return text + ')'


_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([\w.-]*)'[^']*'([^;\s]+)", re.IGNORECASE)
# Greedy: Midas writes names between double quotes without escaping inner quotes.
_FILENAME_QUOTED = re.compile(r'filename\s*=\s*"(.*)"', re.IGNORECASE)
_FILENAME_TOKEN = re.compile(r'filename\s*=\s*([^;]+)', re.IGNORECASE)


def filename_from_disposition(value):
    """Return the file name of a ``Content-Disposition`` header, or None.

    Understands RFC 5987 ``filename*=charset''percent-encoded`` (preferred),
    quoted and unquoted ``filename=``, and repairs raw UTF-8 bytes that were
    decoded as Latin-1.

    :param value: the header value
    :type value: None | string
    :rtype: None | string
    """
    if not value:
        return None
    match = _FILENAME_STAR.search(value)
    if match:
        return unquote(match.group(2), encoding=match.group(1) or 'utf-8', errors='replace')
    match = _FILENAME_QUOTED.search(value)
    if match:
        return repair_text(match.group(1))
    match = _FILENAME_TOKEN.search(value)
    if match:
        return repair_text(match.group(1).strip())
    return None
