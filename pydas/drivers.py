"""Drivers that talk to the Midas Server web API.

Every driver inherits :class:`BaseDriver`, whose :meth:`BaseDriver.request`
is the one place where calls are sent, answers parsed, errors mapped to
:mod:`pydas.exceptions`, secrets redacted and text repaired. A driver method
keeps the signature of the original pydas and makes one call of
:meth:`BaseDriver._call` (or of its download/upload siblings) with the API
method name and its Python arguments; :mod:`pydas.wire` turns those into Midas
parameters.
"""

import contextlib
import http.client
import json
import logging
import os
import socket
import time
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import requests
import urllib3

from pydas import arguments, wire
from pydas.exceptions import LocalFileChanged, ParseError, PydasException, RequestError
from pydas.text import has_non_ascii_text, repair_text
from pydas.redaction import redact_params, redact_url, secret_values
from pydas.transport import CHUNK_SIZE, Transport, filename_from_disposition, parse_envelope

logger = logging.getLogger('pydas')

API_PATH = '/api/json'
# Path of the Midas download controller that midas.bitstream.download redirects to.
DOWNLOAD_PATH = '/download/'
# Bytes per chunk of an upload body (one sendall each), and so the memory each upload in
# flight holds: 32 files sent at once take 32 MiB. Larger chunks send no faster (1 GiB
# in 2.71 s with 1 MiB chunks, 2.67 s with 4 MiB, same CPU).
UPLOAD_CHUNK_SIZE = CHUNK_SIZE


class _UploadBody(object):
    """A file read from its current position for ``length`` bytes, in large chunks.

    ``requests`` sends it with a ``Content-Length`` of ``length`` (its ``len``).
    It is iterable and not file-like on purpose: urllib3 reads a file-like body
    16 KiB at a time, while it sends each chunk of an iterable as it comes, so
    one chunk of :data:`UPLOAD_CHUNK_SIZE` is one ``sendall``. The chunks are
    views of one reused buffer (each is sent before the next is read), so a
    file of any size is read without allocating memory per chunk.
    """

    def __init__(self, stream, length, progress=None):
        self._stream = stream
        self._length = length
        self._progress = progress

    def __len__(self):
        return self._length

    def __iter__(self):
        remaining = self._length
        view = memoryview(bytearray(min(remaining, UPLOAD_CHUNK_SIZE)))
        while remaining > 0:
            count = self._stream.readinto(view[:remaining])
            if not count:
                # Sending less than the announced length would leave the server
                # waiting for the rest until a timeout.
                raise LocalFileChanged('the file ended {0} bytes before its announced '
                                       'length: it shrank while being sent'.format(remaining))
            remaining -= count
            if self._progress is not None:
                self._progress(count)
            yield view[:count]


def _stream_size(stream):
    """The total size in bytes of a binary file object."""
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        position = stream.tell()
        size = stream.seek(0, os.SEEK_END)
        stream.seek(position)
        return size


def _open_binary(source):
    """A context manager giving a binary file: ``source`` itself if it is a file object
    (left open: it belongs to the caller), else the file at that path (closed after use)."""
    if hasattr(source, 'read'):
        return contextlib.nullcontext(source)
    return open(source, 'rb')


class _DownloadBody(object):
    """The body of a download: an iterator of byte chunks that can also :meth:`readinto`.

    Never reads past ``expected`` bytes (when known). A body that ends before
    them raises :class:`pydas.exceptions.RequestError` once every byte that
    arrived has been given out, so that a resume loses nothing.

    :param response: the streamed answer of the download URL
    :type response: requests.Response
    :param expected: (optional) the bytes the body holds
    :type expected: None | int
    :param api_method: the Midas API method, for messages
    :type api_method: string
    """

    def __init__(self, response, expected, api_method):
        self._response = response
        self._expected = expected
        self._api_method = api_method
        self._received = 0
        self._raw = response.raw
        # http.client's response (urllib3's private _fp) reads straight into a buffer or
        # into the bytes it returns, where urllib3 reads into new bytes and copies them;
        # only without a content encoding to decode.
        fp = getattr(self._raw, '_fp', None)
        if fp is not None and hasattr(fp, 'readinto') and response.headers.get(
                'Content-Encoding', 'identity').lower() == 'identity':
            self._read_into, self._read_bytes = fp.readinto, fp.read
            self._fp = fp
        else:
            self._read_into, self._read_bytes = self._read_decoded_into, self._read_decoded
            self._fp = None

    def __iter__(self):
        try:
            while True:
                chunk = self.read(CHUNK_SIZE)
                if not chunk:
                    break
                yield chunk
        finally:
            self.close()

    def read(self, size=-1):
        """Read the next bytes of the body, at most ``size`` (all that is left when
        negative); ``b''`` at the end.

        :param size: bytes to read at most
        :type size: int
        :rtype: bytes
        :raises pydas.exceptions.RequestError: if the connection broke before the end
        """
        if size is None or size < 0:
            return b''.join(iter(lambda: self.read(CHUNK_SIZE), b''))
        size = self._left(size)
        if not size:
            return b''
        with self._breaking():
            data = self._read_bytes(size)
        self._count(len(data))
        return data

    def readinto(self, buffer):
        """Read the next bytes of the body into ``buffer``; return their count (0 at the end).

        :param buffer: where to read to
        :type buffer: bytearray | memoryview
        :rtype: int
        :raises pydas.exceptions.RequestError: if the connection broke before the end
        """
        view = memoryview(buffer)[:self._left(len(buffer))]
        if not len(view):
            return 0
        with self._breaking():
            count = self._read_into(view)
        self._count(count)
        return count

    def _left(self, size):
        """``size``, cut to the bytes the body has left (when known)."""
        return size if self._expected is None else min(size, self._expected - self._received)

    @contextlib.contextmanager
    def _breaking(self):
        """Turn the errors of a broken connection into :meth:`_broken`."""
        try:
            yield
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException,
                http.client.HTTPException, OSError) as exc:
            raise self._broken() from exc

    def _count(self, count):
        if not count and self._expected is not None:
            raise self._broken()
        self._received += count

    def _read_decoded(self, size):
        return self._raw.read(size, decode_content=True)

    def _read_decoded_into(self, view):
        data = self._read_decoded(len(view))
        view[:len(data)] = data
        return len(data)

    def _broken(self):
        return RequestError('%s: the connection broke after %d bytes of the download'
                            % (self._api_method, self._received), method=self._api_method,
                            response=self._response)

    def abort(self):
        """Break the connection off, from any thread: a read blocked on it returns at once
        (and raises :class:`pydas.exceptions.RequestError`)."""
        connection = getattr(self._raw, 'connection', None)
        sock = getattr(connection, 'sock', None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)

    def close(self):
        """Free the connection of the download (idempotent).

        A body read to its end leaves a connection the next request can reuse;
        reading past urllib3 hides that from it, so the connection is handed back
        to the pool here. Any other connection is closed (unread bytes, or a body
        shorter than its ``Content-Length`` announced, would corrupt the next answer).
        """
        if self._fp is not None and self._fp.isclosed():
            # http.client closes its response once it has read Content-Length bytes.
            self._raw.release_conn()
        self._response.close()


class BaseDriver(object):
    """Machinery shared by every Midas API driver.

    It holds the server URL and the TLS and debug settings, and sends every call
    through :meth:`request`.

    :param url: (optional) base URL of the Midas server, e.g. ``https://example.org/midas``
    :type url: string
    """

    def __init__(self, url=''):
        self.url = url
        self._debug = False
        self._verify_ssl_certificate = True
        self.auth = None
        self._transport = None

    @property
    def url(self):
        """Base URL of the Midas server this driver calls.

        :returns: the base URL, without a trailing slash
        :rtype: string
        """
        return self._url

    @url.setter
    def url(self, value):
        """Point this driver at a Midas server.

        :param value: base URL of the server (a trailing slash is dropped)
        :type value: string
        """
        self._url = value.rstrip('/')

    @property
    def full_url(self):
        """Address of the JSON API endpoint, ready for a method name to be appended.

        :returns: ``<url>/api/json?method=``, to be followed by e.g. ``midas.version``
        :rtype: string
        """
        return self._url + API_PATH + '?method='

    @property
    def debug(self):
        """Whether this driver logs its calls verbosely.

        When on, every call and its outcome are logged at level INFO on the
        ``pydas`` logger (at level DEBUG otherwise), secrets redacted.

        :returns: ``True`` if verbose logging is on
        :rtype: bool
        """
        return self._debug

    @debug.setter
    def debug(self, value):
        """Turn verbose logging of this driver's calls on or off.

        :param value: ``True`` for call logs at INFO level, ``False`` for DEBUG level
        :type value: bool
        """
        self._debug = value

    @property
    def verify_ssl_certificate(self):
        """How this driver checks the server's TLS certificate.

        :returns: ``True`` (checked against the default CA bundle), ``False`` (not
            checked) or the path of the CA bundle it is checked against
        :rtype: bool | string
        """
        return self._verify_ssl_certificate

    @verify_ssl_certificate.setter
    def verify_ssl_certificate(self, value):
        """Choose how this driver checks the server's TLS certificate.

        :param value: ``True`` to check it against the default CA bundle, ``False`` to skip
            the check, or the path of a CA bundle file to check it against
        :type value: bool | string
        """
        self._verify_ssl_certificate = value

    @property
    def transport(self):
        """The :class:`pydas.transport.Transport` (session, timeouts, retries) of this driver.

        A :class:`pydas.core.Communicator` gives all its drivers the same one;
        a driver used alone creates its own on first use.

        :rtype: pydas.transport.Transport
        """
        if self._transport is None:
            self._transport = Transport()
        return self._transport

    @transport.setter
    def transport(self, value):
        self._transport = value

    def request(self, method, parameters=None, file_payload=None):
        """Send one call to the Midas API and return the ``data`` of its answer.

        Without ``file_payload`` the call is a POST whose form-encoded body carries
        the parameters, so that no credential ends up in a URL. With it, the call is
        a PUT whose body is the file, streamed from its current position to its end,
        and the parameters travel in the query string, where Midas expects them for
        uploads.

        :param method: name of the Midas API method, e.g. ``midas.folder.get``
        :type method: string
        :param parameters: (optional) Midas parameter names mapped to their values
        :type parameters: None | dict[string, string]
        :param file_payload: (optional) open binary file whose bytes form the request body
        :type file_payload: None | file | FileIO
        :returns: the ``data`` member of the response envelope, with doubly encoded
            non-ASCII text repaired (Midas turns every number and boolean into a string)
        :rtype: dict
        :raises pydas.exceptions.PydasException: when the call cannot be sent or Midas
            answers with an error (the subclass says which)
        """
        parameters = parameters or {}
        secrets = secret_values(parameters)
        options = dict(verify=self.verify_ssl_certificate, auth=self.auth)
        if file_payload is None:
            verb, options['data'] = 'POST', parameters
        else:
            if not isinstance(file_payload, _UploadBody):
                remaining = _stream_size(file_payload) - file_payload.tell()
                file_payload = _UploadBody(file_payload, remaining)
            verb, options['params'], options['data'] = 'PUT', parameters, file_payload
            options['replayable'] = False
        level = self._log_level()
        if level:
            logger.log(level, '%s: %s %s', method, verb, redact_params(parameters))
        started = time.monotonic()
        try:
            response = self.transport.send(method, verb, self.full_url + method, secrets,
                                           **options)
            with response:
                data = parse_envelope(response, method, secrets)
                repair = has_non_ascii_text(response.content)
        except PydasException as exc:
            self._log('%s: failed after %.3f s: %s', method, time.monotonic() - started, exc)
            raise
        if level:
            logger.log(level, '%s: ok in %.3f s', method, time.monotonic() - started)
        return repair_text(data) if repair else data

    def login_with_api_key(self, email, api_key, application='Default'):
        """Exchange an API key for an API token. Calls ``midas.login``.

        The token expires after a while; log in again the same way to get a new one.

        :param email: e-mail address of the Midas account
        :type email: string
        :param api_key: one of the account's API keys
        :type api_key: string
        :param application: (optional) application name the key was created for;
            ``'Default'`` unless given
        :type application: string
        :returns: the token to pass to later calls or, for an account protected by a second
            factor, the temporary id to give to
            :meth:`MultiFactorAuthenticationDriver.mfa_otp_login` instead
        :rtype: string
        :raises pydas.exceptions.ResponseError: if Midas rejects the e-mail address or the key
        """
        answer = self.login(email, api_key, application)
        return answer['token'] if 'token' in answer else answer['mfa_token_id']

    def login(self, email, api_key, application='Default'):
        """Exchange an API key for an API token and return Midas' whole answer.

        Calls ``midas.login``. The answer holds ``token`` or, for an account
        protected by a second factor, ``mfa_token_id`` (to give to
        :meth:`MultiFactorAuthenticationDriver.mfa_otp_login`): the key tells
        which, unlike the value returned by :meth:`login_with_api_key`.

        :param email: e-mail address of the Midas account
        :type email: string
        :param api_key: one of the account's API keys
        :type api_key: string
        :param application: (optional) application name the key was created for
        :type application: string
        :returns: the ``data`` of the answer: ``token`` or ``mfa_token_id``, and more
        :rtype: dict
        :raises pydas.exceptions.ResponseError: if Midas rejects the e-mail address or the key
        """
        return self._call('midas.login', dict(email=email, api_key=api_key,
                                              application=application))

    def _call(self, api_method, params=None, options=None):
        """Call ``api_method`` with Python-named ``params`` and keyword ``options``.

        :returns: the envelope's ``data``
        """
        params = dict(params or {})
        if options:
            params.update(wire.known_options(api_method, options))
        return self.request(api_method, wire.encode(api_method, params))

    def _put(self, api_method, params, options, stream, size, offset=0, progress=None):
        """Stream ``stream`` (``size`` bytes) from byte ``offset`` as the body of ``api_method``."""
        options = wire.known_options(api_method, options)
        stream.seek(offset)
        body = _UploadBody(stream, max(0, size - offset), progress)
        return self.request(api_method, wire.encode(api_method, dict(params, **options)),
                            file_payload=body)

    def _download(self, api_method, params, offset=0):
        """Call a download method and return ``(filename, iterator of byte chunks)``.

        The API call is a POST (no token in the URL); Midas answers with a 302 whose
        ``Location`` carries ``authToken``: we follow it with a GET ourselves, so that
        the URL is only ever logged redacted.
        """
        encoded = wire.encode(api_method, params)
        secrets = secret_values(encoded)
        options = dict(verify=self.verify_ssl_certificate, auth=self.auth)
        self._log('%s: POST %s', api_method, redact_params(encoded))
        response = self.transport.send(api_method, 'POST', self.full_url + api_method, secrets,
                                       data=encoded, allow_redirects=False, **options)
        with response:
            if not response.is_redirect:
                parse_envelope(response, api_method, secrets)
                raise ParseError('%s: the server answered without a file (HTTP %d)'
                                 % (api_method, response.status_code),
                                 method=api_method, response=response)
            location = urljoin(response.url, response.headers['Location'])
        self._log('%s: GET %s', api_method, redact_url(location))
        download = self.transport.send(api_method, 'GET', location, secrets, stream=True,
                                       allow_redirects=True, **options)
        if download.status_code >= 400:
            with download:
                parse_envelope(download, api_method, secrets)
        return self._file_stream(download, api_method, offset)

    def _file_stream(self, download, api_method, offset):
        """Return ``(filename, chunks)`` of the successful answer of a download URL."""
        filename = (filename_from_disposition(download.headers.get('Content-Disposition'))
                    or unquote(os.path.basename(urlsplit(download.url).path)))
        expected = download.headers.get('Content-Length')
        expected = int(expected) if expected and expected.isdigit() else None
        if expected is not None and offset and download.status_code == 200:
            # Midas quirk: with an offset the body starts there, but Content-Length
            # still announces the whole file.
            expected = max(0, expected - offset)
        return filename, _DownloadBody(download, expected, api_method)

    def _log_level(self):
        """The level of this driver's log lines, or 0 when the logger would drop them."""
        level = logging.INFO if self._debug else logging.DEBUG
        return level if logger.isEnabledFor(level) else 0

    def _log(self, message, *args):
        level = self._log_level()
        if level:
            logger.log(level, message, *args)


class CoreDriver(BaseDriver):
    """Calls of the core Midas web API.

    They cover what a server offers with only the ``api`` module enabled: users,
    communities, folders, items, metadata, uploads, downloads and search.
    """

    def get_server_version(self):
        """Ask which version of the Midas core the server runs. Calls ``midas.version``.

        :returns: the version as ``major.minor.patch``, e.g. ``'3.4.2'``
        :rtype: string
        """
        return self._call('midas.version')['version']

    def get_server_info(self):
        """Describe the server. Calls ``midas.info``.

        :returns: the whole answer: ``version``, the site's ``name`` and ``description``,
            the enabled ``modules`` and the map of REST ``resources``
        :rtype: dict
        """
        return self._call('midas.info')

    def list_modules(self):
        """Name the modules enabled on the server. Calls ``midas.modules.list``.

        :returns: the module names, e.g. ``['api', 'tracker']``
        :rtype: list[string]
        """
        return self._call('midas.modules.list')['modules']

    def list_user_folders(self, token):
        """List the folders at the top of the caller's home folder. Calls ``midas.user.folders``.

        :param token: API token of the caller
        :type token: string
        :returns: the folders directly under the home folder that the caller can read,
            sorted by name (usually ``Private`` and ``Public``)
        :rtype: list[dict]
        """
        return self._call('midas.user.folders', dict(token=token))

    def get_default_api_key(self, email, password):
        """Fetch an account's API key for the ``Default`` application, by password.

        Calls ``midas.user.apikey.default``; the key itself is left as it is.

        :param email: e-mail address of the account
        :type email: string
        :param password: the account's password (sent in the request body, never in a URL)
        :type password: string
        :returns: the 32-character API key
        :rtype: string
        :raises pydas.exceptions.InvalidParameter: if Midas rejects the e-mail address or
            the password
        """
        return self._call('midas.user.apikey.default',
                          dict(email=email, password=password))['apikey']

    def list_users(self, limit=20):
        """List the users whose profile is public. Calls ``midas.user.list``.

        :param limit: (optional) the most users to return (``0``: no limit)
        :type limit: int | long
        :returns: user records sorted by last name, e-mail addresses included
        :rtype: list[dict]
        """
        return self._call('midas.user.list', dict(limit=limit))

    def get_user_by_name(self, firstname, lastname):
        """Look a user up by exact first and last name. Calls ``midas.user.get``.

        :param firstname: the user's first name
        :type firstname: string
        :param lastname: the user's last name
        :type lastname: string
        :returns: the user's record, or ``""`` when nobody matches (Midas does not fail)
        :rtype: dict
        """
        return self._call('midas.user.get', dict(firstname=firstname, lastname=lastname))

    def get_user_by_id(self, user_id):
        """Look a user up by id. Calls ``midas.user.get``.

        :param user_id: id of the user
        :type user_id: int | long
        :returns: the user's record, or ``""`` when nobody matches (Midas does not fail)
        :rtype: dict
        """
        return self._call('midas.user.get', dict(user_id=user_id))

    def get_user_by_email(self, email):
        """Look a user up by exact e-mail address. Calls ``midas.user.get``.

        :param email: e-mail address of the user
        :type email: string
        :returns: the user's record, or ``""`` when nobody matches (Midas does not fail)
        :rtype: dict
        """
        return self._call('midas.user.get', dict(email=email))

    def create_community(self, token, name, **kwargs):
        """Create a community, or update the one whose uuid is given.

        Calls ``midas.community.create``. Creating one takes a site administrator;
        updating one takes write access to it (admin access to change its privacy or
        who may join).

        :param token: API token of the caller
        :type token: string
        :param name: name of the community (Midas capitalises its first letter on creation)
        :type name: string
        :param description: (optional) text describing the community
        :type description: string
        :param uuid: (optional) uuid of an existing community to update; an unknown uuid
            becomes the new community's, and one is generated when none is given
        :type uuid: string
        :param privacy: (optional) ``'Public'`` (the default) or ``'Private'``
        :type privacy: string
        :param can_join: (optional) who may join: ``'Everyone'`` (the default) or
            ``'Invitation'``; sent as ``canjoin``
        :type can_join: string
        :returns: the community's record (``community_id``, ``folder_id`` of its root
            folder, ids of its groups...)
        :rtype: dict
        """
        return self._call('midas.community.create', dict(token=token, name=name), kwargs)

    def get_community_by_name(self, name, token=None):
        """Look a community up by exact name. Calls ``midas.community.get``.

        :param name: name of the community
        :type name: string
        :param token: (optional) API token of the caller; needed for a private community
        :type token: None | string
        :returns: the community's record
        :rtype: dict
        """
        return self._call('midas.community.get', dict(name=name, token=token))

    def get_community_by_id(self, community_id, token=None):
        """Look a community up by id. Calls ``midas.community.get``.

        :param community_id: id of the community
        :type community_id: int | long
        :param token: (optional) API token of the caller; needed for a private community
        :type token: None | string
        :returns: the community's record
        :rtype: dict
        """
        return self._call('midas.community.get', dict(community_id=community_id, token=token))

    def get_community_children(self, community_id, token=None):
        """List the folders at the top of a community. Calls ``midas.community.children``.

        :param community_id: id of the community
        :type community_id: int | long
        :param token: (optional) API token of the caller
        :type token: None | string
        :returns: ``{'folders': [...]}``: the folders directly under the community's root
            folder that the caller can read, sorted by name
        :rtype: dict[string, list]
        """
        return self._call('midas.community.children',
                          dict(community_id=community_id, token=token))

    def list_communities(self, token=None):
        """List the communities the caller can see. Calls ``midas.community.list``.

        :param token: (optional) API token of the caller;
            without it, only public communities are listed
        :type token: None | string
        :returns: community records sorted by name
        :rtype: list[dict]
        """
        return self._call('midas.community.list', dict(token=token))

    def create_folder(self, token, name, parent_id, **kwargs):
        """Create a folder inside a parent folder. Calls ``midas.folder.create``.

        The new folder takes over the permissions of its parent. Given the uuid of an
        existing folder, Midas updates that folder instead.

        :param token: API token of the caller
        :type token: string
        :param name: name of the new folder
        :type name: string
        :param parent_id: id of the folder to create it in (``-1``: the caller's home folder)
        :type parent_id: int | long
        :param description: (optional) text describing the folder; empty unless given
        :type description: string
        :param uuid: (optional) uuid for the new folder (generated when missing), or the
            uuid of an existing folder to update
        :type uuid: string
        :param privacy: (optional) ``'Public'`` or ``'Private'``; by default the parent's
            permissions decide
        :type privacy: string
        :param reuse_existing: (optional) when true and the parent already holds a folder
            of that name, that folder is returned untouched instead of an error
        :type reuse_existing: bool
        :returns: the record of the folder created, reused or updated
        :rtype: dict
        """
        return self._call('midas.folder.create',
                          dict(token=token, name=name, parent_id=parent_id), kwargs)

    def folder_get(self, token, folder_id):
        """Fetch the record of one folder. Calls ``midas.folder.get``.

        :param token: API token of the caller
        :type token: string
        :param folder_id: id of the folder
        :type folder_id: int | long
        :returns: the folder's fields plus ``parent``, the record of its parent folder
            (``""`` for a root folder)
        :rtype: dict
        """
        return self._call('midas.folder.get', dict(token=token, folder_id=folder_id))

    def folder_children(self, token, folder_id):
        """List what a folder directly holds, one level only. Calls ``midas.folder.children``.

        :param token: API token of the caller
        :type token: string
        :param folder_id: id of the folder
        :type folder_id: int | long
        :returns: ``{'folders': [...], 'items': [...]}``: the sub-folders and items the
            caller can read, each list sorted by name
        :rtype: dict[string, list]
        """
        return self._call('midas.folder.children', dict(token=token, folder_id=folder_id))

    def delete_folder(self, token, folder_id):
        """Delete a folder and everything below it. Calls ``midas.folder.delete``.

        An item also linked to another folder stays there; any other item is deleted
        with its revisions and files.

        :param token: API token of the caller (it needs admin access to the folder)
        :type token: string
        :param folder_id: id of the folder to delete
        :type folder_id: int | long
        :returns: nothing
        :rtype: None
        """
        self._call('midas.folder.delete', dict(token=token, folder_id=folder_id))

    def move_folder(self, token, folder_id, dest_folder_id):
        """Give a folder a new parent; its subtree moves with it. Calls ``midas.folder.move``.

        Permissions are left as they are.

        :param token: API token of the caller
        :type token: string
        :param folder_id: id of the folder to move
        :type folder_id: int | long
        :param dest_folder_id: id of the folder that becomes its parent
        :type dest_folder_id: int | long
        :returns: the moved folder's record, with its new ``parent_id``
        :rtype: dict
        """
        return self._call('midas.folder.move', dict(token=token, folder_id=folder_id,
                                                    dest_folder_id=dest_folder_id))

    def create_item(self, token, name, parent_id, **kwargs):
        """Create an empty item (no revision, no file) in a folder. Calls ``midas.item.create``.

        If the folder already holds an item of that name, Midas names the new one
        ``name (1)``, ``name (2)``... Given the uuid of an existing item, Midas
        updates that item instead.

        :param token: API token of the caller
        :type token: string
        :param name: name of the new item
        :type name: string
        :param parent_id: id of the folder to create it in
        :type parent_id: int | long
        :param description: (optional) text describing the item
        :type description: string
        :param uuid: (optional) uuid for the new item (generated when missing), or the
            uuid of an existing item to update
        :type uuid: string
        :param privacy: (optional) ``'Public'`` or ``'Private'``; by default the folder's
            permissions decide
        :type privacy: string
        :returns: the new item's record, with its ``item_id``
        :rtype: dict
        """
        return self._call('midas.item.create',
                          dict(token=token, name=name, parent_id=parent_id), kwargs)

    def item_get(self, token, item_id):
        """Fetch an item with all its revisions and their files. Calls ``midas.item.get``.

        :param token: API token of the caller
        :type token: string
        :param item_id: id of the item
        :type item_id: int | string
        :returns: the item's fields plus ``folder_id`` (a folder holding it), ``revisions``
            (oldest first, each with its ``bitstreams``) and ``extraFields``
        :rtype: dict
        """
        return self._call('midas.item.get', dict(token=token, item_id=item_id))

    def download_item(self, item_id, token=None, revision=None, return_item=False):
        """Fetch the files of an item revision. Calls ``midas.item.download``.

        A revision holding one file comes as that file, one holding several as a zip
        archive of them. The bytes are streamed to the caller; nothing is written to
        disk here.

        :param item_id: id of the item
        :type item_id: int | long
        :param token: (optional) API token of the caller
        :type token: None | string
        :param revision: (optional) number of the revision to fetch; the latest when omitted
        :type revision: None | int | long
        :param return_item: (optional) when true, the item's record is fetched first with
            :meth:`item_get` and returned as a third element
        :type return_item: bool
        :returns: the name to save the download under and an iterator over its bytes;
            read the iterator to its end or close it to free the connection
        :rtype: (string, iterator[bytes]) | (string, iterator[bytes], dict)
        :raises pydas.exceptions.ResponseError: if Midas refuses (unknown item, no read
            access, bad token)
        :raises pydas.exceptions.RequestError: if the connection breaks during the transfer
        """
        item = self.item_get(token, item_id) if return_item else None
        filename, content = self._download(
            'midas.item.download', dict(item_id=item_id, revision=revision, token=token))
        return (filename, content, item) if return_item else (filename, content)

    def delete_item(self, token, item_id):
        """Delete an item everywhere: from all its folders, with its revisions and files.

        Calls ``midas.item.delete``.

        :param token: API token of the caller (it needs admin access to the item)
        :type token: string
        :param item_id: id of the item to delete
        :type item_id: int | long
        :returns: nothing
        :rtype: None
        """
        self._call('midas.item.delete', dict(token=token, item_id=item_id))

    def get_item_metadata(self, item_id, token=None, revision=None):
        """Read the metadata fields of an item revision. Calls ``midas.item.getmetadata``.

        :param item_id: id of the item
        :type item_id: int | long
        :param token: (optional) API token of the caller
        :type token: None | string
        :param revision: (optional) revision number; the latest revision when omitted
        :type revision: int | long
        :returns: one dict per field, with ``element``, ``qualifier``, ``value`` and
            ``metadatatype``
        :rtype: list[dict]
        """
        return self._call('midas.item.getmetadata',
                          dict(item_id=item_id, token=token, revision=revision))

    def set_item_metadata(self, token, item_id, element, value, qualifier=None):
        """Create or overwrite one metadata field of an item's latest revision.

        Calls ``midas.item.setmetadata``; it needs write access to the item.

        :param token: API token of the caller
        :type token: string
        :param item_id: id of the item
        :type item_id: int | long
        :param element: name of the field
        :type element: string
        :param value: value to store in the field
        :type value: string
        :param qualifier: (optional) sub-name of the field; empty when omitted
        :type qualifier: None | string
        :returns: nothing
        :rtype: None
        """
        self._call('midas.item.setmetadata', dict(token=token, item_id=item_id,
                                                  element=element, value=value,
                                                  qualifier=qualifier))

    def share_item(self, token, item_id, dest_folder_id):
        """Link an item into one more folder, without copying it. Calls ``midas.item.share``.

        The groups that have access to that folder get read access to the item.

        :param token: API token of the caller
        :type token: string
        :param item_id: id of the item to share
        :type item_id: int | long
        :param dest_folder_id: id of the folder to link it into
        :type dest_folder_id: int | long
        :returns: the item's record plus ``owningfolders``, the folders it is now in
        :rtype: dict
        """
        return self._call('midas.item.share', dict(token=token, item_id=item_id,
                                                   dest_folder_id=dest_folder_id))

    def move_item(self, token, item_id, src_folder_id, dest_folder_id):
        """Take an item out of one folder and put it into another. Calls ``midas.item.move``.

        The item takes over the permissions of its new folder, and Midas renames it if
        an item of the same name is already there.

        :param token: API token of the caller
        :type token: string
        :param item_id: id of the item to move
        :type item_id: int | long
        :param src_folder_id: id of the folder to take it out of
        :type src_folder_id: int | long
        :param dest_folder_id: id of the folder to put it into
        :type dest_folder_id: int | long
        :returns: the item's record plus ``owningfolders``, its folders after the move
        :rtype: dict
        """
        return self._call('midas.item.move', dict(token=token, item_id=item_id,
                                                  src_folder_id=src_folder_id,
                                                  dest_folder_id=dest_folder_id))

    def search_item_by_name(self, name, token=None):
        """Find the items bearing exactly this name. Calls ``midas.item.searchbyname``.

        :param name: item name to match
        :type name: string
        :param token: (optional) API token of the caller; without it, only public items are found
        :type token: None | string
        :returns: the matching items the caller can read, each with the ``folder_id``
            of a folder holding it
        :rtype: list[dict]
        """
        return self._call('midas.item.searchbyname', dict(name=name, token=token))['items']

    def search_item_by_name_and_folder(self, name, folder_id, token=None):
        """Find the items of one folder bearing exactly this name.

        Calls ``midas.item.searchbynameandfolder``.

        :param name: item name to match
        :type name: string
        :param folder_id: id of the folder the items must be in
        :type folder_id: int | long
        :param token: (optional) API token of the caller
        :type token: None | string
        :returns: the matching items of that folder that the caller can read
        :rtype: list[dict]
        """
        return self._call('midas.item.searchbynameandfolder',
                          dict(name=name, folder_id=folder_id, token=token))['items']

    def search_item_by_name_and_folder_name(self, name, folder_name, token=None):
        """Find the items bearing exactly this name in any folder called ``folder_name``.

        Calls ``midas.item.searchbynameandfoldername``.

        :param name: item name to match
        :type name: string
        :param folder_name: exact name of a folder the items must be in
        :type folder_name: string
        :param token: (optional) API token of the caller
        :type token: None | string
        :returns: the matching items the caller can read
        :rtype: list[dict]
        """
        return self._call('midas.item.searchbynameandfoldername',
                          dict(name=name, folder_name=folder_name, token=token))['items']

    def create_link(self, token, folder_id, url, **kwargs):
        """Create an item whose only file is a link to a URL. Calls ``midas.link.create``.

        The new item gets a first revision holding one bitstream that points at the
        URL; Midas stores no content for it.

        :param token: API token of the caller
        :type token: string
        :param folder_id: id of the folder the new item is created in
        :type folder_id: int | long
        :param url: address the link points to; it also names the bitstream, and the
            item unless ``item_name`` is given
        :type url: string
        :param item_name: (optional) name for the new item in place of the URL
        :type item_name: string
        :param length: (optional) size in bytes of the linked file, recorded as the
            bitstream's size (0 unless given)
        :type length: int | long
        :param checksum: (optional) MD5 of the linked file, recorded as given
        :type checksum: string
        :returns: the new item's record
        :rtype: dict
        """
        return self._call('midas.link.create',
                          dict(token=token, folder_id=folder_id, url=url), kwargs)

    def generate_upload_token(self, token, item_id, filename, checksum=None):
        """Prepare the upload of one file into an item. Calls ``midas.upload.generatetoken``.

        Every file needs its own upload token, good for one :meth:`perform_upload`.
        Given the MD5 checksum of content the server already stores, Midas adds that
        content to the item's latest revision under ``filename`` at once, and no
        upload is needed.

        :param token: API token of the caller
        :type token: string
        :param item_id: id of the item that receives the file
        :type item_id: int | long
        :param filename: name the file will have in the item
        :type filename: string
        :param checksum: (optional) MD5 hex digest of the file's content
        :type checksum: None | string
        :returns: the upload token, or ``''`` when the checksum matched stored content
            and the item now holds the file
        :rtype: string
        """
        return self._call('midas.upload.generatetoken',
                          dict(token=token, item_id=item_id, filename=filename,
                               checksum=checksum))['token']

    def generate_upload_token_for_new_item(self, token, folder_id, filename, checksum=None):
        """Create an item named ``filename`` in a folder and generate an upload token for it.

        One call (``midas.upload.generatetoken`` with ``folderid``) where
        :meth:`create_item` and :meth:`generate_upload_token` make two. The server
        names the item like the file, or ``filename (1)``... if the folder already
        holds an item of that name. With the checksum of content the server already
        holds, the item is created with that content and the answered token is empty.

        :param token: API token of the caller
        :type token: string
        :param folder_id: id of the folder the item is created in
        :type folder_id: int | long
        :param filename: name of the file, given to the new item as well
        :type filename: string
        :param checksum: (optional) MD5 hex digest of the file's content
        :type checksum: None | string
        :returns: The upload token and the id of the new item; both empty strings
            when the checksum short-cut answered (the item exists but its id is not
            returned: see :meth:`search_item_by_name_and_folder`).
        :rtype: (string, string)
        """
        upload_token = self._call('midas.upload.generatetoken',
                                  dict(token=token, folder_id=folder_id, filename=filename,
                                       checksum=checksum))['token']
        # Token format: <user id>/<item id>/<random>; Midas returns the new item only there.
        parts = upload_token.split('/')
        return upload_token, (parts[1] if len(parts) == 3 else '')

    def perform_upload(self, upload_token, filename, **kwargs):
        """Send a file's content under an upload token. Calls ``midas.upload.perform``.

        The file is streamed from disk in large chunks and never held in memory
        whole. Midas adds it as a bitstream to the item the token was made for: to
        the latest revision unless ``revision`` or ``create_additional_revision``
        says otherwise. An upload token serves once.

        :param upload_token: token from :meth:`generate_upload_token`
        :type upload_token: string
        :param filename: name the file gets in the item; also the path it is read from
            when ``filepath`` is not given
        :type filename: string
        :param mode: (optional) ``'stream'`` (the default: the file is the request body)
            or ``'multipart'``
        :type mode: string
        :param folder_id: (optional) id of a folder, sent as ``folderid``; the target item
            comes from the upload token
        :type folder_id: int | long
        :param item_id: (optional) id of the item, sent as ``itemid``; Midas ignores it
            and takes the item from the upload token
        :type item_id: int | long
        :param revision: (optional) revision that receives the file: ``'head'`` for the
            latest one (what is sent unless ``create_additional_revision`` is true) or a
            revision number
        :type revision: string | int | long
        :param create_additional_revision: (optional) when true and ``revision`` is not
            given, Midas puts the file into a new revision
        :type create_additional_revision: bool
        :param filepath: (optional) path of the file to send, or an open binary file
            object (which stays open)
        :type filepath: string | file
        :param offset: (optional) byte to start sending from, when the server already
            holds the bytes before it (see :meth:`get_upload_offset`)
        :type offset: int
        :param progress: (optional) function called with the byte count of each chunk
            once it is sent
        :type progress: None | callable
        :returns: the record of the item that received the file, as stored after the
            upload
        :rtype: dict
        :raises pydas.exceptions.UploadFailed: if the server got fewer bytes than the
            file holds (resume from :meth:`get_upload_offset`)
        :raises pydas.exceptions.InvalidUploadToken: if the upload token is unknown or
            was already used
        :raises TypeError: if ``filepath`` is neither a path nor a binary file object
        :raises ValueError: if ``filepath`` is a directory
        """
        arguments.require_nonempty_text('perform_upload', 'upload_token', upload_token)
        arguments.require_nonempty_text('perform_upload', 'filename', filename)
        filepath = kwargs.pop('filepath', filename)
        if not hasattr(filepath, 'read'):
            arguments.require_path('perform_upload', 'filepath', filepath)
            if os.path.isdir(filepath):
                raise ValueError('perform_upload: filepath {0} is a directory, not a '
                                 'file'.format(os.fspath(filepath)))
        offset = kwargs.pop('offset', 0)
        progress = kwargs.pop('progress', None)
        if not kwargs.pop('create_additional_revision', False):
            kwargs.setdefault('revision', 'head')
        with _open_binary(filepath) as stream:
            size = _stream_size(stream)
            params = dict(upload_token=upload_token, filename=filename, length=size)
            return self._put('midas.upload.perform', params, kwargs, stream, size, offset,
                             progress)

    def get_upload_offset(self, upload_token):
        """Ask how many bytes of an unfinished upload the server holds.

        Calls ``midas.upload.getoffset``.

        :param upload_token: token from :meth:`generate_upload_token`
        :type upload_token: string
        :returns: the byte count received so far; 0 for an unknown token (for which
            Midas answers ``''``)
        :rtype: int
        """
        offset = self._call('midas.upload.getoffset', dict(upload_token=upload_token))['offset']
        return int(offset or 0)

    def bitstream_get(self, token, bitstream_id):
        """Fetch the record of one bitstream (file). Calls ``midas.bitstream.get``.

        :param token: API token of the caller
        :type token: None | string
        :param bitstream_id: id of the bitstream
        :type bitstream_id: int | long
        :returns: ``id``, ``name``, ``size``, ``mimetype``, ``checksum``,
            ``itemrevision_id``, ``item_id`` and ``date``, all as strings
        :rtype: dict
        """
        return self._call('midas.bitstream.get', dict(token=token, bitstream_id=bitstream_id))

    def delete_bitstream(self, token, bitstream_id):
        """Delete one bitstream (file) from its revision. Calls ``midas.bitstream.delete``.

        The transfer engine uses it to take back a bitstream whose content is not
        the file that was sent. Midas keeps the stored content while another
        bitstream refers to it.

        :param token: API token of the caller
        :type token: string
        :param bitstream_id: id of the bitstream
        :type bitstream_id: int | long
        :raises pydas.exceptions.InvalidPolicy: without admin access to the item
        """
        self._call('midas.bitstream.delete', dict(token=token, bitstream_id=bitstream_id))

    def download_bitstream(self, bitstream_id, token=None, offset=0):
        """Fetch one bitstream (file), whole or from a byte offset on.

        Calls ``midas.bitstream.download``.

        :param bitstream_id: id of the bitstream
        :type bitstream_id: int | long
        :param token: (optional) API token of the caller
        :type token: None | string
        :param offset: (optional) position of the first byte to fetch
        :type offset: int
        :returns: the bitstream's name and an iterator over its bytes from ``offset`` on
        :rtype: (string, iterator[bytes])
        :raises pydas.exceptions.ResponseError: if Midas refuses (unknown bitstream, no
            read access, bad token)
        :raises pydas.exceptions.RequestError: if the connection breaks during the transfer
        """
        return self._download('midas.bitstream.download',
                              dict(bitstream_id=bitstream_id, token=token,
                                   offset=offset or None), offset=offset)

    def stream_bitstream(self, bitstream_id, token=None, offset=0):
        """Download one bitstream straight from the server's download controller.

        Sends one request where :meth:`download_bitstream` sends two: the GET of
        ``/download/?bitstream=<id>&offset=<offset>`` that ``midas.bitstream.download``
        would redirect to. As in that redirect, the token travels in the URL, as
        ``authToken`` (HTTPS keeps it off the wire; every log line and message
        redacts it). The controller answers a refusal with an HTML page and no code:
        HTTP 4xx, or HTTP 500 for a bad ``authToken`` or a missing permission. On
        those this falls back to :meth:`download_bitstream`, which raises the API's
        own error (e.g. :class:`pydas.exceptions.InvalidToken`) or succeeds if the
        refusal was passing. Any other server error (HTTP 502, 503, ...), which the
        transport has retried already, raises.

        :param bitstream_id: id of the bitstream
        :type bitstream_id: int | long
        :param token: (optional) API token of the caller
        :type token: None | string
        :param offset: (optional) position of the first byte to fetch
        :type offset: int
        :returns: the bitstream's name and an iterator over its bytes from ``offset`` on
        :rtype: (string, iterator[bytes])
        :raises pydas.exceptions.ResponseError: if the server refuses the download
        :raises pydas.exceptions.RequestError: if the connection breaks during the transfer
        """
        api_method = 'midas.bitstream.download'
        query = [('bitstream', bitstream_id), ('offset', offset or 0)]
        if token:
            query.append(('authToken', token))
        url = self._url + DOWNLOAD_PATH + '?' + urlencode(query)
        self._log('%s: GET %s', api_method, redact_url(url))
        download = self.transport.send(api_method, 'GET', url, [token] if token else [],
                                       stream=True, allow_redirects=True,
                                       verify=self.verify_ssl_certificate, auth=self.auth)
        if download.status_code > 500:
            with download:
                parse_envelope(download, api_method, [token] if token else [])
        if download.status_code >= 400:
            download.close()
            self._log('%s: the download controller answered HTTP %d; asking the API',
                      api_method, download.status_code)
            return self.download_bitstream(bitstream_id, token=token, offset=offset)
        return self._file_stream(download, api_method, offset)

    def search(self, search, token=None):
        """Search items, folders, communities and users by name. Calls ``midas.resource.search``.

        :param search: text to look for (items also match on their description)
        :type search: string
        :param token: (optional) API token of the caller;
            results are limited to what the caller may read
        :type token: None | string
        :returns: the counts ``nitems``, ``nfolders``, ``ncommunities`` and ``nusers``, and
            ``results``: the matching records, each with its ``resultType``
        :rtype: dict
        """
        return self._call('midas.resource.search', dict(search=search, token=token))


class BatchmakeDriver(BaseDriver):
    """Calls of the ``batchmake`` module.

    Midas removed that module in 2016; a server without it answers these calls
    with code -101.
    """

    def add_condor_dag(self, token, batchmaketaskid, dagfilename, dagmanoutfilename):
        """Record a Condor DAG for a Batchmake task. Calls ``midas.batchmake.add.condor.dag``.

        :param token: API token of the caller, who must own the task
        :type token: string
        :param batchmaketaskid: id of the Batchmake task
        :type batchmaketaskid: int | long
        :param dagfilename: file name of the DAG
        :type dagfilename: string
        :param dagmanoutfilename: file name of DAGMan's output; sent as ``outfilename``
        :type dagmanoutfilename: string
        :returns: the new DAG's record (``condor_dag_id``, ``batchmake_task_id``...)
        :rtype: dict
        """
        return self._call('midas.batchmake.add.condor.dag',
                          dict(token=token, batchmaketaskid=batchmaketaskid,
                               dagfilename=dagfilename, dagmanoutfilename=dagmanoutfilename))

    def add_condor_job(self, token, batchmaketaskid, jobdefinitionfilename, outputfilename,
                       errorfilename, logfilename, postfilename):
        """Attach a job to the Condor DAG of a Batchmake task.

        Calls ``midas.batchmake.add.condor.job``.

        :param token: API token of the caller, who must own the task
        :type token: string
        :param batchmaketaskid: id of the Batchmake task
        :type batchmaketaskid: int | long
        :param jobdefinitionfilename: file name of the job's definition
        :type jobdefinitionfilename: string
        :param outputfilename: file name of the job's standard output
        :type outputfilename: string
        :param errorfilename: file name of the job's error output
        :type errorfilename: string
        :param logfilename: file name of the job's Condor log
        :type logfilename: string
        :param postfilename: file name of the log of the job's post script
        :type postfilename: string
        :returns: the new job's record (``condor_job_id``, ``condor_dag_id``...)
        :rtype: dict
        """
        return self._call('midas.batchmake.add.condor.job',
                          dict(token=token, batchmaketaskid=batchmaketaskid,
                               jobdefinitionfilename=jobdefinitionfilename,
                               outputfilename=outputfilename, errorfilename=errorfilename,
                               logfilename=logfilename, postfilename=postfilename))


class DicomextractorDriver(BaseDriver):
    """Calls of the ``dicomextractor`` module."""

    def extract_dicommetadata(self, token, item_id):
        """Copy the DICOM tags of an item's files into metadata of its latest revision.

        Calls ``midas.dicomextractor.extract``; it needs write access to the item.

        :param token: API token of the caller
        :type token: string
        :param item_id: id of the item holding the DICOM files
        :type item_id: int | long
        :returns: the record of the revision that received the metadata (Midas sends it
            as JSON text; it is decoded here)
        :rtype: dict
        """
        revision = self._call('midas.dicomextractor.extract',
                              dict(token=token, item_id=item_id))
        return repair_text(json.loads(revision)) if isinstance(revision, str) else revision


class MultiFactorAuthenticationDriver(BaseDriver):
    """Calls of the ``mfa`` (multi-factor authentication) module."""

    def mfa_otp_login(self, temp_token, one_time_pass):
        """Complete a login with a one-time password. Calls ``midas.mfa.otp.login``.

        Midas forgets the temporary id after each attempt, right or wrong, so a
        failed attempt starts over with :meth:`BaseDriver.login_with_api_key`.

        :param temp_token: the id that :meth:`BaseDriver.login_with_api_key` returned for
            an account with a second factor
        :type temp_token: string
        :param one_time_pass: the account's current one-time password, e.g. its TOTP code
        :type one_time_pass: string
        :returns: an API token for the account
        :rtype: string
        """
        return self._call('midas.mfa.otp.login',
                          dict(temp_token=temp_token, one_time_pass=one_time_pass))['token']


class SolrDriver(BaseDriver):
    """Calls of the ``solr`` module."""

    def solr_advanced_search(self, query, token=None, limit=20):
        """Search items with a Lucene query through the server's Solr index.

        Calls ``midas.solr.search.advanced``.

        :param query: query in Apache Lucene syntax, e.g. ``name:scan*``
        :type query: string
        :param token: (optional) API token of the caller; only items it may read are returned
        :type token: None | string
        :param limit: (optional) the most items to return
        :type limit: int | long
        :returns: short item records (``id``, ``name``, ``size``, ``folder_id``,
            ``revisions``, ``bitstreams``...)
        :rtype: list[dict]
        """
        return self._call('midas.solr.search.advanced',
                          dict(query=query, token=token, limit=limit))


class ThumbnailCreatorDriver(BaseDriver):
    """Calls of the ``thumbnailcreator`` module (the server renders images with ImageMagick)."""

    def create_big_thumbnail(self, token, bitstream_id, item_id, width=575):
        """Render a bitstream as the large preview image of an item.

        Calls ``midas.thumbnailcreator.create.big.thumbnail``. The new image replaces
        any previous large preview of the item, shown on its page.

        :param token: API token of the caller (it needs write access to the item)
        :type token: string
        :param bitstream_id: id of the image file to render
        :type bitstream_id: int | long
        :param item_id: id of the item that gets the preview
        :type item_id: int | long
        :param width: (optional) width of the preview in pixels, 575 unless given; the
            height keeps the image's proportions
        :type width: int | long
        :returns: the record linking the item to its new preview (``itemthumbnail_id``,
            ``item_id``, ``thumbnail_id``)
        :rtype: dict
        """
        return self._call('midas.thumbnailcreator.create.big.thumbnail',
                          dict(token=token, bitstream_id=bitstream_id, item_id=item_id,
                               width=width))

    def create_small_thumbnail(self, token, item_id):
        """Render the first file of an item's latest revision as a 100x100 preview image.

        Calls ``midas.thumbnailcreator.create.small.thumbnail``; the image becomes the
        item's ``thumbnail_id`` and replaces the previous one.

        :param token: API token of the caller (it needs write access to the item)
        :type token: string
        :param item_id: id of the item that gets the preview
        :type item_id: int | long
        :returns: the item's record, whose ``thumbnail_id`` now names the new image
        :rtype: dict
        """
        return self._call('midas.thumbnailcreator.create.small.thumbnail',
                          dict(token=token, item_id=item_id))


class TrackerDriver(BaseDriver):
    """Calls of the ``tracker`` module, which records the values of metrics over time.

    Midas 3.4.2 requires a submission for every scalar: create one with
    :meth:`create_submission` and pass its uuid as ``submission_uuid``.
    """

    def add_scalar_data(self, token, community_id, producer_display_name, metric_name,
                        producer_revision, submit_time, value, **kwargs):
        """Record one value of a metric. Calls ``midas.tracker.scalar.add``.

        Midas creates the producer and the metric's trend when they do not exist yet.

        :param token: API token of the caller
        :type token: string
        :param community_id: id of the community the producer belongs to
        :type community_id: int | long
        :param producer_display_name: display name of the producer (the program that
            made the value)
        :type producer_display_name: string
        :param metric_name: name of the metric; it selects the trend the value joins
        :type metric_name: string
        :param producer_revision: source revision of the producer that made the value
        :type producer_revision: int | long | string
        :param submit_time: when the value was submitted, in a form PHP's ``strtotime()``
            reads, e.g. ``'2020-01-01 10:00'``
        :type submit_time: string
        :param value: the measured value
        :type value: float
        :param config_item_id: (optional) id of the configuration item the value depends on
        :type config_item_id: int | long
        :param test_dataset_id: (optional) id of the test dataset item it was measured on
        :type test_dataset_id: int | long
        :param truth_dataset_id: (optional) id of the ground-truth item it was compared with
        :type truth_dataset_id: int | long
        :param silent: (optional) when true, no threshold e-mail notification is sent for it
        :type silent: bool
        :param unofficial: (optional) when true, the value is unofficial and only the
            submitter sees it
        :type unofficial: bool
        :param build_results_url: (optional) link to the build results behind the value
        :type build_results_url: string
        :param branch: (optional) source branch of the producer
        :type branch: string
        :param params: (optional) key/value pairs to show next to the value (sent as JSON)
        :type params: dict
        :param extra_urls: (optional) further links to show with the value, each a dict
            with ``label``, ``text`` and ``href`` (sent as JSON)
        :type extra_urls: list[dict]
        :param submission_uuid: (optional) uuid of the submission the value belongs to;
            Midas 3.4.2 requires it (see :meth:`create_submission`)
        :type submission_uuid: string
        :param submission_id: (optional) id of the submission the value belongs to
        :type submission_id: int | long
        :param unit: (optional) unit of the value
        :type unit: string
        :param reproduction_command: (optional) command line that reproduces the value
        :type reproduction_command: string
        :returns: the new scalar's record (``scalar_id``, ``trend_id``, ``submission_id``,
            ``value``...)
        :rtype: dict
        """
        return self._call('midas.tracker.scalar.add',
                          dict(token=token, community_id=community_id,
                               producer_display_name=producer_display_name,
                               metric_name=metric_name, producer_revision=producer_revision,
                               submit_time=submit_time, value=value), kwargs)

    def create_submission(self, token, **kwargs):
        """Create a submission (one run of a producer, grouping its scalars).

        Calls ``midas.tracker.submission.add``, the only name any Midas server
        serves (``midas.tracker.submission.create``, which the original pydas
        called, never existed).

        :param token: API token of the caller
        :type token: string
        :param community_id: id of the community the producer belongs to
        :type community_id: int | long
        :param producer_display_name: display name of the producer
        :type producer_display_name: string
        :param producer_revision: source revision of the producer for this run
        :type producer_revision: int | long | string
        :param branch: source branch of the producer
        :type branch: string
        :param submit_time: when the run happened, in a form PHP's ``strtotime()`` reads
        :type submit_time: string
        :param uuid: (optional) uuid for the submission; Midas generates one when missing
        :type uuid: string
        :param name: (optional) name of the submission
        :type name: string
        :param build_results_url: (optional) link to the build results of the run
        :type build_results_url: string
        :param params: (optional) key/value pairs stored with the submission
        :type params: dict
        :param extra_urls: (optional) further links, each a dict with ``label``, ``text``
            and ``href``
        :type extra_urls: list[dict]
        :param reproduction_command: (optional) command line that reproduces the run
        :type reproduction_command: string
        :returns: the new submission's record, including ``submission_id`` and ``uuid``
        :rtype: dict
        """
        return self._call('midas.tracker.submission.add', dict(token=token), kwargs)

    def associate_item_with_scalar_data(self, token, item_id, scalar_id, label,
                                        submission_uuid=None):
        """Attach a result item to a recorded value under a label.

        Calls ``midas.tracker.item.associate``.

        :param token: API token of the caller
        :type token: string
        :param item_id: id of the item to attach
        :type item_id: int | long
        :param scalar_id: id of the scalar to attach it to; sent as ``scalarIds``
        :type scalar_id: int | long
        :param label: what the item is to the value, e.g. ``'output image'``
        :type label: string
        :param submission_uuid: (optional) uuid of the submission to attach the item to,
            which Midas 3.4.2 requires in place of the scalar id
        :type submission_uuid: None | string
        """
        self._call('midas.tracker.item.associate',
                   dict(token=token, item_id=item_id, scalar_id=scalar_id, label=label,
                        submission_uuid=submission_uuid))

    def upload_json_results(self, token, filepath, community_id, producer_display_name,
                            metric_name, producer_revision, submit_time, **kwargs):
        """Turn the numbers of a JSON document into scalar values.

        Calls ``midas.tracker.results.upload.json`` with the file as the body of a
        PUT. Each numeric value at the top level of the JSON object (or directly
        under each of ``parent_keys``) becomes one scalar named after its key; the
        server does not keep the file. Midas removed this method in 2016.

        :param token: API token of the caller
        :param filepath: path of the JSON file, or an open binary file object
        :param community_id: id of the community the producer belongs to
        :param producer_display_name: display name of the producer
        :param metric_name: metric name sent along with the results
        :param producer_revision: source revision of the producer that made the results
        :param submit_time: when the results were submitted, in a form PHP's
            ``strtotime()`` reads
        :param config_item_id: (optional) id of the configuration item the results
            depend on
        :param test_dataset_id: (optional) id of the test dataset item they were
            measured on
        :param truth_dataset_id: (optional) id of the ground-truth item they were
            compared with
        :param parent_keys: (optional) ``;``-separated paths of the objects holding the
            numbers, with ``.`` between nesting levels as in JavaScript
        :param silent: (optional) when true, no threshold e-mail notification is sent
        :param unofficial: (optional) when true, the scalars are unofficial and only the
            submitter sees them
        :param build_results_url: (optional) link to the build results behind the values
        :param branch: (optional) source branch of the producer
        :param params: (optional) key/value pairs to show next to the values (sent as JSON)
        :type params: dict
        :param extra_urls: (optional) further links to show with the values, each a dict
            with ``label``, ``text`` and ``href`` (sent as JSON)
        :type extra_urls: list of dicts
        :returns: the records of the scalars created
        :rtype: list[dict]
        """
        params = dict(token=token, community_id=community_id,
                      producer_display_name=producer_display_name, metric_name=metric_name,
                      producer_revision=producer_revision, submit_time=submit_time)
        with _open_binary(filepath) as stream:
            return self._put('midas.tracker.results.upload.json', params, kwargs, stream,
                             _stream_size(stream))
