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
import json
import logging
import os
import time
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import requests
import urllib3

from pydas import wire
from pydas.exceptions import InvalidToken, ParseError, PydasException, RequestError
from pydas.text import repair_text
from pydas.transport import (CHUNK_SIZE, Transport, filename_from_disposition, parse_envelope,
                             redact_params, redact_url, secret_values)

logger = logging.getLogger('pydas')

API_PATH = '/api/json'
# Path of the Midas download controller that midas.bitstream.download redirects to.
DOWNLOAD_PATH = '/download/'
# Bytes per chunk of an upload body (one sendall each).
UPLOAD_CHUNK_SIZE = 4 * CHUNK_SIZE


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
                break
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
        # http.client's response (urllib3's private _fp) reads straight into a buffer, where
        # urllib3's own readinto reads into new bytes and copies them; only without a
        # content encoding to decode.
        fp = getattr(self._raw, '_fp', None)
        if fp is not None and hasattr(fp, 'readinto') and response.headers.get(
                'Content-Encoding', 'identity').lower() == 'identity':
            self._read_into = fp.readinto
        else:
            self._read_into = self._read_decoded

    def __iter__(self):
        try:
            view = memoryview(bytearray(CHUNK_SIZE))
            while True:
                count = self.readinto(view)
                if not count:
                    break
                yield bytes(view[:count])
        finally:
            self.close()

    def readinto(self, buffer):
        """Read the next bytes of the body into ``buffer``; return their count (0 at the end).

        :param buffer: where to read to
        :type buffer: bytearray | memoryview
        :rtype: int
        :raises pydas.exceptions.RequestError: if the connection broke before the end
        """
        view = memoryview(buffer)
        if self._expected is not None:
            view = view[:self._expected - self._received]
        if not len(view):
            return 0
        try:
            count = self._read_into(view)
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException,
                OSError) as exc:
            raise self._broken() from exc
        if not count and self._expected is not None:
            raise self._broken()
        self._received += count
        return count

    def _read_decoded(self, view):
        data = self._raw.read(len(view), decode_content=True)
        view[:len(data)] = data
        return len(data)

    def _broken(self):
        return RequestError('%s: the connection broke after %d bytes of the download'
                            % (self._api_method, self._received), method=self._api_method,
                            response=self._response)

    def close(self):
        """Close the connection of the download (idempotent)."""
        self._response.close()


class BaseDriver(object):
    """Base class for the Midas Server API drivers.

    :param url: (optional) URL of the server, e.g. ``https://example.org/midas``
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
        """Return the URL of the server.

        :returns: URL of the server
        :rtype: string
        """
        return self._url

    @url.setter
    def url(self, value):
        """Set the URL of the server.

        :param value: URL of the server
        :type value: string
        """
        self._url = value.rstrip('/')

    @property
    def full_url(self):
        """Return the full URL of the server including the API suffix.

        :returns: Full URL of the server (append a method name to call it)
        :rtype: string
        """
        return self._url + API_PATH + '?method='

    @property
    def debug(self):
        """Return the debug state of this driver.

        When true, every call and its outcome are logged at level INFO on the
        ``pydas`` logger (at level DEBUG otherwise), secrets redacted.

        :returns: debug state
        :rtype: bool
        """
        return self._debug

    @debug.setter
    def debug(self, value):
        """Set the debug state of this driver.

        :param value: debug state
        :type value: bool
        """
        self._debug = value

    @property
    def verify_ssl_certificate(self):
        """Return whether the SSL certificate will be verified.

        :returns: True if the SSL certificate will be verified (or the path of a
            CA bundle to verify it with)
        :rtype: bool | string
        """
        return self._verify_ssl_certificate

    @verify_ssl_certificate.setter
    def verify_ssl_certificate(self, value):
        """Set whether the SSL certificate will be verified.

        :param value: True to verify, False not to, or the path of a CA bundle
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
        """Do the generic processing of a request to the server.

        The parameters are sent in a form-encoded POST body (never in the URL).
        If file_payload is specified, it is streamed to the server with a PUT
        and the parameters go in the query string, as Midas requires.

        :param method: Desired API method
        :type method: string
        :param parameters: (optional) Parameters to pass in the HTTP body
        :type parameters: None | dict[string, string]
        :param file_payload: (optional) File-like object to be sent with the HTTP
            request, read from its current position to its end
        :type file_payload: None | file | FileIO
        :returns: Dictionary representing the JSON response to the request (the
            envelope's ``data``, non-ASCII text repaired)
        :rtype: dict
        :raises pydas.exceptions.PydasException: if the request failed
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
            response = self.transport.send(method, verb, self._url + API_PATH + '?method='
                                           + method, secrets, **options)
            with response:
                data = parse_envelope(response, method, secrets)
        except PydasException as exc:
            self._log('%s: failed after %.3f s: %s', method, time.monotonic() - started, exc)
            raise
        if level:
            logger.log(level, '%s: ok in %.3f s', method, time.monotonic() - started)
        return repair_text(data)

    def login_with_api_key(self, email, api_key, application='Default'):
        """Login and get a token. If you do not specify a specific application,
        'Default' will be used.

        :param email: Email address of the user
        :type email: string
        :param api_key: API key assigned to the user
        :type api_key: string
        :param application: (optional) Application designated for this API key
        :type application: string
        :returns: Token to be used for interaction with the API until expiration,
            or, when the user has a second factor, the temporary id to pass to
            :meth:`MultiFactorAuthenticationDriver.mfa_otp_login`
        :rtype: string
        :raises pydas.exceptions.ResponseError: if the credentials are refused
        """
        data = self._call('midas.login', dict(email=email, api_key=api_key,
                                              application=application))
        return data['token'] if 'token' in data else data['mfa_token_id']

    def _call(self, api_method, params=None, options=None):
        """Call ``api_method`` with Python-named ``params`` and keyword ``options``.

        :returns: the envelope's ``data``
        """
        params = dict(params or {})
        if options:
            params.update(wire.known_options(api_method, options))
        return self.request(api_method, wire.encode(api_method, params))

    def _put(self, api_method, params, options, stream, offset=0, progress=None):
        """Stream ``stream`` from byte ``offset`` to its end as the body of ``api_method``."""
        options = wire.known_options(api_method, options)
        size = _stream_size(stream)
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
    """Driver for the core API methods of Midas Server. This contains all of
    the calls necessary to interact with a Midas Server instance that has no
    plugins enabled (other than the web API).
    """

    def get_server_version(self):
        """Get the version from the server.

        :returns: version code from the server
        :rtype: string
        """
        return self._call('midas.version')['version']

    def get_server_info(self):
        """Get general server information.

        The information provided includes enabled modules as well as enabled web
        API functions.

        :returns: Module and web API information (``version``, ``name``,
            ``description``, ``modules``, ``resources``).
        :rtype: dict
        """
        return self._call('midas.info')

    def list_modules(self):
        """List the enabled modules on the server.

        :returns: List of names of the enabled modules.
        :rtype: list[string]
        """
        return self._call('midas.modules.list')['modules']

    def list_user_folders(self, token):
        """List the folders in the users home area.

        :param token: A valid token for the user in question.
        :type token: string
        :returns: List of dictionaries containing folder information.
        :rtype: list[dict]
        """
        return self._call('midas.user.folders', dict(token=token))

    def get_default_api_key(self, email, password):
        """Get the default API key for a user.

        :param email: The email of the user.
        :type email: string
        :param password: The user's password.
        :type password: string
        :returns: API key to confirm that it was fetched successfully.
        :rtype: string
        :raises pydas.exceptions.InvalidParameter: if the e-mail or password is wrong
        """
        return self._call('midas.user.apikey.default',
                          dict(email=email, password=password))['apikey']

    def list_users(self, limit=20):
        """List the public users in the system.

        :param limit: (optional) The number of users to fetch.
        :type limit: int | long
        :returns: The list of users.
        :rtype: list[dict]
        """
        return self._call('midas.user.list', dict(limit=limit))

    def get_user_by_name(self, firstname, lastname):
        """Get a user by the first and last name of that user.

        :param firstname: The first name of the user.
        :type firstname: string
        :param lastname: The last name of the user.
        :type lastname: string
        :returns: The user requested (``""`` if there is none: Midas does not fail).
        :rtype: dict
        """
        return self._call('midas.user.get', dict(firstname=firstname, lastname=lastname))

    def get_user_by_id(self, user_id):
        """Get a user by the id of that user.

        :param user_id: The id of the desired user.
        :type user_id: int | long
        :returns: The user requested (``""`` if there is none: Midas does not fail).
        :rtype: dict
        """
        return self._call('midas.user.get', dict(user_id=user_id))

    def get_user_by_email(self, email):
        """Get a user by the email of that user.

        :param email: The email of the desired user.
        :type email: string
        :returns: The user requested (``""`` if there is none: Midas does not fail).
        :rtype: dict
        """
        return self._call('midas.user.get', dict(email=email))

    def create_community(self, token, name, **kwargs):
        """Create a new community or update an existing one using the uuid.

        :param token: A valid token for the user in question.
        :type token: string
        :param name: The community name.
        :type name: string
        :param description: (optional) The community description.
        :type description: string
        :param uuid: (optional) uuid of the community. If none is passed, will
            generate one.
        :type uuid: string
        :param privacy: (optional) Default 'Public', possible values [Public|Private].
        :type privacy: string
        :param can_join: (optional) Default 'Everyone', possible values
            [Everyone|Invitation].
        :type can_join: string
        :returns: The community dao that was created.
        :rtype: dict
        """
        return self._call('midas.community.create', dict(token=token, name=name), kwargs)

    def get_community_by_name(self, name, token=None):
        """Get a community based on its name.

        :param name: The name of the target community.
        :type name: string
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :returns: The requested community.
        :rtype: dict
        """
        return self._call('midas.community.get', dict(name=name, token=token))

    def get_community_by_id(self, community_id, token=None):
        """Get a community based on its id.

        :param community_id: The id of the target community.
        :type community_id: int | long
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :returns: The requested community.
        :rtype: dict
        """
        return self._call('midas.community.get', dict(community_id=community_id, token=token))

    def get_community_children(self, community_id, token=None):
        """Get the non-recursive children of the passed in community_id.

        :param community_id: The id of the requested community.
        :type community_id: int | long
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :returns: List of the folders in the community.
        :rtype: dict[string, list]
        """
        return self._call('midas.community.children',
                          dict(community_id=community_id, token=token))

    def list_communities(self, token=None):
        """List all communities visible to a user.

        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :returns: The list of communities.
        :rtype: list[dict]
        """
        return self._call('midas.community.list', dict(token=token))

    def create_folder(self, token, name, parent_id, **kwargs):
        """Create a folder at the destination specified.

        :param token: A valid token for the user in question.
        :type token: string
        :param name: The name of the folder to be created.
        :type name: string
        :param parent_id: The id of the targeted parent folder.
        :type parent_id: int | long
        :param description: (optional) The description text of the folder.
        :type description: string
        :param uuid: (optional) The UUID for the folder. It will be generated if
            not given.
        :type uuid: string
        :param privacy: (optional) The privacy state of the folder ('Public' or
            'Private').
        :type privacy: string
        :param reuse_existing: (optional) If true, will just return the existing
            folder if there is one with the name provided.
        :type reuse_existing: bool
        :returns: Dictionary containing the details of the created folder.
        :rtype: dict
        """
        return self._call('midas.folder.create',
                          dict(token=token, name=name, parent_id=parent_id), kwargs)

    def folder_get(self, token, folder_id):
        """Get the attributes of the specified folder.

        :param token: A valid token for the user in question.
        :type token: string
        :param folder_id: The id of the requested folder.
        :type folder_id: int | long
        :returns: Dictionary of the folder attributes.
        :rtype: dict
        """
        return self._call('midas.folder.get', dict(token=token, folder_id=folder_id))

    def folder_children(self, token, folder_id):
        """Get the non-recursive children of the passed in folder_id.

        :param token: A valid token for the user in question.
        :type token: string
        :param folder_id: The id of the requested folder.
        :type folder_id: int | long
        :returns: Dictionary of two lists: 'folders' and 'items'.
        :rtype: dict[string, list]
        """
        return self._call('midas.folder.children', dict(token=token, folder_id=folder_id))

    def delete_folder(self, token, folder_id):
        """Delete the folder with the passed in folder_id.

        :param token: A valid token for the user in question.
        :type token: string
        :param folder_id: The id of the folder to be deleted.
        :type folder_id: int | long
        :returns: None.
        :rtype: None
        """
        self._call('midas.folder.delete', dict(token=token, folder_id=folder_id))

    def move_folder(self, token, folder_id, dest_folder_id):
        """Move a folder to the destination folder.

        :param token: A valid token for the user in question.
        :type token: string
        :param folder_id: The id of the folder to be moved.
        :type folder_id: int | long
        :param dest_folder_id: The id of destination (new parent) folder.
        :type dest_folder_id: int | long
        :returns: Dictionary containing the details of the moved folder.
        :rtype: dict
        """
        return self._call('midas.folder.move', dict(token=token, folder_id=folder_id,
                                                    dest_folder_id=dest_folder_id))

    def create_item(self, token, name, parent_id, **kwargs):
        """Create an item to the server.

        :param token: A valid token for the user in question.
        :type token: string
        :param name: The name of the item to be created.
        :type name: string
        :param parent_id: The id of the destination folder.
        :type parent_id: int | long
        :param description: (optional) The description text of the item.
        :type description: string
        :param uuid: (optional) The UUID for the item. It will be generated if not
            given.
        :type uuid: string
        :param privacy: (optional) The privacy state of the item ('Public' or
            'Private').
        :type privacy: string
        :returns: Dictionary containing the details of the created item.
        :rtype: dict
        """
        return self._call('midas.item.create',
                          dict(token=token, name=name, parent_id=parent_id), kwargs)

    def item_get(self, token, item_id):
        """Get the attributes of the specified item.

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: The id of the requested item.
        :type item_id: int | string
        :returns: Dictionary of the item attributes.
        :rtype: dict
        """
        return self._call('midas.item.get', dict(token=token, item_id=item_id))

    def download_item(self, item_id, token=None, revision=None, return_item=False):
        """Download an item to disk.

        A single-file revision comes as that file, several files as a zip.

        :param item_id: The id of the item to be downloaded.
        :type item_id: int | long
        :param token: (optional) The authentication token of the user requesting
            the download.
        :type token: None | string
        :param revision: (optional) The revision of the item to download, this
            defaults to HEAD.
        :type revision: None | int | long
        :param return_item: (optional) If true, also return the item's attributes
            (from :meth:`item_get`, fetched first) as a third element.
        :type return_item: bool
        :returns: A tuple of the filename and the content iterator (an iterator of
            byte chunks; exhaust or close it to release the connection).
        :rtype: (string, iterator[bytes]) | (string, iterator[bytes], dict)
        :raises pydas.exceptions.ResponseError: if the server refuses the download
        :raises pydas.exceptions.RequestError: if the connection breaks while reading
        """
        item = self.item_get(token, item_id) if return_item else None
        filename, content = self._download(
            'midas.item.download', dict(item_id=item_id, revision=revision, token=token))
        return (filename, content, item) if return_item else (filename, content)

    def delete_item(self, token, item_id):
        """Delete the item with the passed in item_id.

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: The id of the item to be deleted.
        :type item_id: int | long
        :returns: None.
        :rtype: None
        """
        self._call('midas.item.delete', dict(token=token, item_id=item_id))

    def get_item_metadata(self, item_id, token=None, revision=None):
        """Get the metadata associated with an item.

        :param item_id: The id of the item for which metadata will be returned
        :type item_id: int | long
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :param revision: (optional) Revision of the item. Defaults to latest
            revision.
        :type revision: int | long
        :returns: List of dictionaries containing item metadata.
        :rtype: list[dict]
        """
        return self._call('midas.item.getmetadata',
                          dict(item_id=item_id, token=token, revision=revision))

    def set_item_metadata(self, token, item_id, element, value, qualifier=None):
        """Set the metadata associated with an item.

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: The id of the item for which metadata will be set.
        :type item_id: int | long
        :param element: The metadata element name.
        :type element: string
        :param value: The metadata value for the field.
        :type value: string
        :param qualifier: (optional) The metadata qualifier. Defaults to empty
            string.
        :type qualifier: None | string
        :returns: None.
        :rtype: None
        """
        self._call('midas.item.setmetadata', dict(token=token, item_id=item_id,
                                                  element=element, value=value,
                                                  qualifier=qualifier))

    def share_item(self, token, item_id, dest_folder_id):
        """Share an item to the destination folder.

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: The id of the item to be shared.
        :type item_id: int | long
        :param dest_folder_id: The id of destination folder where the item is
            shared to.
        :type dest_folder_id: int | long
        :returns: Dictionary containing the details of the shared item.
        :rtype: dict
        """
        return self._call('midas.item.share', dict(token=token, item_id=item_id,
                                                   dest_folder_id=dest_folder_id))

    def move_item(self, token, item_id, src_folder_id, dest_folder_id):
        """Move an item from the source folder to the destination folder.

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: The id of the item to be moved
        :type item_id: int | long
        :param src_folder_id: The id of source folder where the item is located
        :type src_folder_id: int | long
        :param dest_folder_id: The id of destination folder where the item is
            moved to
        :type dest_folder_id: int | long
        :returns: Dictionary containing the details of the moved item
        :rtype: dict
        """
        return self._call('midas.item.move', dict(token=token, item_id=item_id,
                                                  src_folder_id=src_folder_id,
                                                  dest_folder_id=dest_folder_id))

    def search_item_by_name(self, name, token=None):
        """Return all items.

        :param name: The name of the item to search by.
        :type name: string
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :returns: A list of all items with the given name.
        :rtype: list[dict]
        """
        return self._call('midas.item.searchbyname', dict(name=name, token=token))['items']

    def search_item_by_name_and_folder(self, name, folder_id, token=None):
        """Return all items with a given name and parent folder id.

        :param name: The name of the item to search by.
        :type name: string
        :param folder_id: The id of the parent folder to search by.
        :type folder_id: int | long
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :returns: A list of all items with the given name and parent folder id.
        :rtype: list[dict]
        """
        return self._call('midas.item.searchbynameandfolder',
                          dict(name=name, folder_id=folder_id, token=token))['items']

    def search_item_by_name_and_folder_name(self, name, folder_name, token=None):
        """Return all items with a given name and parent folder name.

        :param name: The name of the item to search by.
        :type name: string
        :param folder_name: The name of the parent folder to search by.
        :type folder_name: string
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :returns: A list of all items with the given name and parent folder name.
        :rtype: list[dict]
        """
        return self._call('midas.item.searchbynameandfoldername',
                          dict(name=name, folder_name=folder_name, token=token))['items']

    def create_link(self, token, folder_id, url, **kwargs):
        """Create a link bitstream.

        :param token: A valid token for the user in question.
        :type token: string
        :param folder_id: The id of the folder in which to create a new item that
            will contain the link. The new item will have the same name as the URL
            unless an item name is supplied.
        :type folder_id: int | long
        :param url: The URL of the link you will create, will be used as the name
            of the bitstream and of the item unless an item name is supplied.
        :type url: string
        :param item_name: (optional) The name of the newly created item, if not
            supplied, the item will have the same name as the URL.
        :type item_name: string
        :param length: (optional) The length in bytes of the file to which the link
            points.
        :type length: int | long
        :param checksum: (optional) The MD5 checksum of the file to which the link
            points.
        :type checksum: string
        :returns: The item information of the item created.
        :rtype: dict
        """
        return self._call('midas.link.create',
                          dict(token=token, folder_id=folder_id, url=url), kwargs)

    def generate_upload_token(self, token, item_id, filename, checksum=None):
        """Generate a token to use for upload.

        Midas Server uses a individual token for each upload. The token
        corresponds to the file specified and that file only. Passing the MD5
        checksum allows the server to determine if the file is already in the
        asset store.

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: The id of the item in which to upload the file as a
            bitstream.
        :type item_id: int | long
        :param filename: The name of the file to generate the upload token for.
        :type filename: string
        :param checksum: (optional) The checksum of the file to upload.
        :type checksum: None | string
        :returns: String of the upload token; empty if the server already holds
            content with this checksum and has added it to the item (no upload
            needed).
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

        :param token: A valid token for the user in question.
        :type token: string
        :param folder_id: The id of the folder in which to create the item.
        :type folder_id: int | long
        :param filename: The name of the file (and of the new item).
        :type filename: string
        :param checksum: (optional) The MD5 checksum of the file to upload.
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
        """Upload a file into a given item (or just to the public folder if the
        item is not specified.

        The file is streamed from disk, never read into memory.

        :param upload_token: The upload token (returned by generate_upload_token)
        :type upload_token: string
        :param filename: The upload filename. Also used as the path to the file, if
            'filepath' is not set.
        :type filename: string
        :param mode: (optional) Stream or multipart. Default is stream.
        :type mode: string
        :param folder_id: (optional) The id of the folder to upload into.
        :type folder_id: int | long
        :param item_id: (optional) If set, will create a new revision in the
            existing item.
        :type item_id: int | long
        :param revision: (optional) If set, will add a new file into an existing
            revision. Set this to 'head' to add to the most recent revision (the
            default unless create_additional_revision is true).
        :type revision: string | int | long
        :param create_additional_revision: (optional) If true and no revision is
            given, the file goes into a new revision.
        :type create_additional_revision: bool
        :param filepath: (optional) The path to the file, or an open binary file
            object (left open).
        :type filepath: string | file
        :param offset: (optional) Send the file from this byte on (the server
            already holds the bytes before it, see :meth:`get_upload_offset`).
        :type offset: int
        :param progress: (optional) Called with the number of bytes of each chunk
            sent.
        :type progress: None | callable
        :returns: Dictionary containing the details of the item created or changed.
        :rtype: dict
        :raises pydas.exceptions.UploadFailed: if the server received fewer bytes
            than the file holds (resume from :meth:`get_upload_offset`)
        :raises pydas.exceptions.InvalidUploadToken: if the upload token is unknown
            or used
        """
        filepath = kwargs.pop('filepath', filename)
        offset = kwargs.pop('offset', 0)
        progress = kwargs.pop('progress', None)
        if not kwargs.pop('create_additional_revision', False):
            kwargs.setdefault('revision', 'head')
        with _open_binary(filepath) as stream:
            params = dict(upload_token=upload_token, filename=filename,
                          length=_stream_size(stream))
            return self._put('midas.upload.perform', params, kwargs, stream, offset, progress)

    def get_upload_offset(self, upload_token):
        """Get how many bytes of an upload the server already holds.

        :param upload_token: The upload token (returned by generate_upload_token)
        :type upload_token: string
        :returns: The number of bytes received so far (0 for an unknown token).
        :rtype: int
        """
        offset = self._call('midas.upload.getoffset', dict(upload_token=upload_token))['offset']
        return int(offset or 0)

    def bitstream_get(self, token, bitstream_id):
        """Get the attributes of a bitstream.

        :param token: A valid token for the user in question.
        :type token: None | string
        :param bitstream_id: The id of the bitstream.
        :type bitstream_id: int | long
        :returns: Dictionary with ``id``, ``name``, ``size``, ``mimetype``,
            ``checksum``, ``itemrevision_id``, ``item_id`` and ``date``.
        :rtype: dict
        """
        return self._call('midas.bitstream.get', dict(token=token, bitstream_id=bitstream_id))

    def download_bitstream(self, bitstream_id, token=None, offset=0):
        """Download one bitstream (file), optionally from a byte offset.

        :param bitstream_id: The id of the bitstream.
        :type bitstream_id: int | long
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :param offset: (optional) The first byte to download.
        :type offset: int
        :returns: A tuple of the filename and an iterator of byte chunks (from the
            offset on).
        :rtype: (string, iterator[bytes])
        :raises pydas.exceptions.ResponseError: if the server refuses the download
        :raises pydas.exceptions.RequestError: if the connection breaks while reading
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
        redacts it). The controller answers a refusal with an HTML page and no code,
        so on any HTTP error this falls back to :meth:`download_bitstream`, which
        raises the API's own error (e.g. :class:`pydas.exceptions.InvalidToken`) or
        succeeds if the refusal was passing.

        :param bitstream_id: The id of the bitstream.
        :type bitstream_id: int | long
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :param offset: (optional) The first byte to download.
        :type offset: int
        :returns: A tuple of the filename and an iterator of byte chunks (from the
            offset on).
        :rtype: (string, iterator[bytes])
        :raises pydas.exceptions.ResponseError: if the server refuses the download
        :raises pydas.exceptions.RequestError: if the connection breaks while reading
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
        if download.status_code >= 400:
            download.close()
            self._log('%s: the download controller answered HTTP %d; asking the API',
                      api_method, download.status_code)
            return self.download_bitstream(bitstream_id, token=token, offset=offset)
        return self._file_stream(download, api_method, offset)

    def search(self, search, token=None):
        """Get the resources corresponding to a given query.

        :param search: The search criterion.
        :type search: string
        :param token: (optional) The credentials to use when searching.
        :type token: None | string
        :returns: Dictionary containing the search result. Notable is the dictionary
            item 'results', which is a list of item details.
        :rtype: dict
        """
        return self._call('midas.resource.search', dict(search=search, token=token))


class BatchmakeDriver(BaseDriver):
    """Driver for the batchmake module API methods."""

    def add_condor_dag(self, token, batchmaketaskid, dagfilename, dagmanoutfilename):
        """Add a Condor DAG to the given Batchmake task.

        :param token: A valid token for the user in question.
        :type token: string
        :param batchmaketaskid: id of the Batchmake task for this DAG
        :type batchmaketaskid: int | long
        :param dagfilename: Filename of the DAG file
        :type dagfilename: string
        :param dagmanoutfilename: Filename of the DAG processing output
        :type dagmanoutfilename: string
        :returns: The created Condor DAG DAO
        :rtype: dict
        """
        return self._call('midas.batchmake.add.condor.dag',
                          dict(token=token, batchmaketaskid=batchmaketaskid,
                               dagfilename=dagfilename, dagmanoutfilename=dagmanoutfilename))

    def add_condor_job(self, token, batchmaketaskid, jobdefinitionfilename, outputfilename,
                       errorfilename, logfilename, postfilename):
        """Add a Condor DAG job to the Condor DAG associated with this Batchmake task

        :param token: A valid token for the user in question.
        :type token: string
        :param batchmaketaskid: id of the Batchmake task for this DAG
        :type batchmaketaskid: int | long
        :param jobdefinitionfilename: Filename of the definition file for the job
        :type jobdefinitionfilename: string
        :param outputfilename: Filename of the output file for the job
        :type outputfilename: string
        :param errorfilename: Filename of the error file for the job
        :type errorfilename: string
        :param logfilename: Filename of the log file for the job
        :type logfilename: string
        :param postfilename: Filename of the post script log file for the job
        :type postfilename: string
        :returns: The created Condor job DAO.
        :rtype: dict
        """
        return self._call('midas.batchmake.add.condor.job',
                          dict(token=token, batchmaketaskid=batchmaketaskid,
                               jobdefinitionfilename=jobdefinitionfilename,
                               outputfilename=outputfilename, errorfilename=errorfilename,
                               logfilename=logfilename, postfilename=postfilename))


class DicomextractorDriver(BaseDriver):
    """Driver for the dicomextractor module API methods."""

    def extract_dicommetadata(self, token, item_id):
        """Extract DICOM metadata from the given item

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: id of the item to be extracted
        :type item_id: int | long
        :returns: the item revision DAO (Midas sends it as JSON text; it is parsed)
        :rtype: dict
        """
        revision = self._call('midas.dicomextractor.extract',
                              dict(token=token, item_id=item_id))
        return repair_text(json.loads(revision)) if isinstance(revision, str) else revision


class MultiFactorAuthenticationDriver(BaseDriver):
    """Driver for the multi-factor authentication module API methods."""

    def mfa_otp_login(self, temp_token, one_time_pass):
        """Log in to get the real token using the temporary token and otp.

        :param temp_token: The temporary token or id returned from normal login
        :type temp_token: string
        :param one_time_pass: The one-time pass to be sent to the underlying
            multi-factor engine.
        :type one_time_pass: string
        :returns: A standard token for interacting with the web api.
        :rtype: string
        """
        return self._call('midas.mfa.otp.login',
                          dict(temp_token=temp_token, one_time_pass=one_time_pass))['token']


class SolrDriver(BaseDriver):
    """Driver for the solr module API methods."""

    def solr_advanced_search(self, query, token=None, limit=20):
        """Search item metadata using Apache Solr.

        :param query: The Apache Lucene search query.
        :type query: string
        :param token: (optional) A valid token for the user in question.
        :type token: None | string
        :param limit: (optional) The limit of the search.
        :type limit: int | long
        :returns: The list of items that match the search query.
        :rtype: list[dict]
        """
        return self._call('midas.solr.search.advanced',
                          dict(query=query, token=token, limit=limit))


class ThumbnailCreatorDriver(BaseDriver):
    """Driver for the thumbnailcreator module API methods."""

    def create_big_thumbnail(self, token, bitstream_id, item_id, width=575):
        """Create a big thumbnail for the given bitstream with the given width. It
        is used as the main image of the given item and shown in the item view
        page.

        :param token: A valid token for the user in question.
        :type token: string
        :param bitstream_id: The bitstream from which to create the thumbnail.
        :type bitstream_id: int | long
        :param item_id: The item on which to set the thumbnail.
        :type item_id: int | long
        :param width: (optional) The width in pixels to which to resize (aspect
            ratio will be preserved). Defaults to 575.
        :type width: int | long
        :returns: The ItemthumbnailDao object that was created.
        :rtype: dict
        """
        return self._call('midas.thumbnailcreator.create.big.thumbnail',
                          dict(token=token, bitstream_id=bitstream_id, item_id=item_id,
                               width=width))

    def create_small_thumbnail(self, token, item_id):
        """Create a 100x100 small thumbnail for the given item. It is used for
        preview purpose and displayed in the 'preview' and 'thumbnails' sidebar
        sections.

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: The item on which to set the thumbnail.
        :type item_id: int | long
        :returns: The item object (with the new thumbnail id) and the path where
            the newly created thumbnail is stored.
        :rtype: dict
        """
        return self._call('midas.thumbnailcreator.create.small.thumbnail',
                          dict(token=token, item_id=item_id))


class TrackerDriver(BaseDriver):
    """Driver for the tracker module API methods.

    Midas 3.4.2 requires a submission for every scalar: create one with
    :meth:`create_submission` and pass its uuid as ``submission_uuid``.
    """

    def add_scalar_data(self, token, community_id, producer_display_name, metric_name,
                        producer_revision, submit_time, value, **kwargs):
        """Create a new scalar data point.

        :param token: A valid token for the user in question.
        :type token: string
        :param community_id: The id of the community that owns the producer.
        :type community_id: int | long
        :param producer_display_name: The display name of the producer.
        :type producer_display_name: string
        :param metric_name: The metric name that identifies which trend this point
            belongs to.
        :type metric_name: string
        :param producer_revision: The repository revision of the producer that
            produced this value.
        :type producer_revision: int | long | string
        :param submit_time: The submit timestamp. Must be parsable with PHP
            strtotime().
        :type submit_time: string
        :param value: The value of the scalar.
        :type value: float
        :param config_item_id: (optional) If this value pertains to a specific
            configuration item, pass its id here.
        :type config_item_id: int | long
        :param test_dataset_id: (optional) If this value pertains to a specific
            test dataset, pass its id here.
        :type test_dataset_id: int | long
        :param truth_dataset_id: (optional) If this value pertains to a specific
            ground truth dataset, pass its id here.
        :type truth_dataset_id: int | long
        :param silent: (optional) If true, do not perform threshold-based email
            notifications for this scalar.
        :type silent: bool
        :param unofficial: (optional) If true, creates an unofficial scalar visible
            only to the user performing the submission.
        :type unofficial: bool
        :param build_results_url: (optional) A URL for linking to build results for
            this submission.
        :type build_results_url: string
        :param branch: (optional) The branch name in the source repository for this
            submission.
        :type branch: string
        :param params: (optional) Any key/value pairs that should be displayed with
            this scalar result.
        :type params: dict
        :param extra_urls: (optional) Other URL's that should be displayed with with
            this scalar result. Each element of the list should be a dict with the
            following keys: label, text, href
        :type extra_urls: list[dict]
        :param submission_uuid: (optional) The uuid of the submission this value
            belongs to (required by Midas 3.4.2, see :meth:`create_submission`).
        :type submission_uuid: string
        :param submission_id: (optional) The id of the submission this value
            belongs to.
        :type submission_id: int | long
        :param unit: (optional) The unit of the value.
        :type unit: string
        :param reproduction_command: (optional) The command that reproduces this
            value.
        :type reproduction_command: string
        :returns: The scalar object that was created.
        :rtype: dict
        """
        return self._call('midas.tracker.scalar.add',
                          dict(token=token, community_id=community_id,
                               producer_display_name=producer_display_name,
                               metric_name=metric_name, producer_revision=producer_revision,
                               submit_time=submit_time, value=value), kwargs)

    def create_submission(self, token, **kwargs):
        """Create a submission (one run of a producer, grouping its scalars).

        Calls ``midas.tracker.submission.add`` (the name Midas 3.4.2 serves) and,
        if the server does not have it, ``midas.tracker.submission.create`` (the
        name the original pydas used).

        :param token: A valid token for the user in question.
        :type token: string
        :param community_id: The id of the community that owns the producer.
        :type community_id: int | long
        :param producer_display_name: The display name of the producer.
        :type producer_display_name: string
        :param producer_revision: The repository revision of the producer.
        :type producer_revision: int | long | string
        :param branch: The branch name in the source repository.
        :type branch: string
        :param submit_time: The submit timestamp, parsable with PHP strtotime().
        :type submit_time: string
        :param uuid: (optional) The uuid of the submission; generated if not given.
        :type uuid: string
        :param name: (optional) The name of the submission.
        :type name: string
        :param build_results_url: (optional) A URL for linking to build results.
        :type build_results_url: string
        :param params: (optional) Key/value pairs stored with the submission.
        :type params: dict
        :param extra_urls: (optional) Other URL's (dicts with label, text, href).
        :type extra_urls: list[dict]
        :param reproduction_command: (optional) The command that reproduces it.
        :type reproduction_command: string
        :returns: The submission that was created (with ``submission_id`` and
            ``uuid``).
        :rtype: dict
        """
        try:
            return self._call('midas.tracker.submission.add', dict(token=token), kwargs)
        except InvalidToken as exc:
            if 'does not exist' not in exc.message:
                raise
            return self._call('midas.tracker.submission.create', dict(token=token), kwargs)

    def associate_item_with_scalar_data(self, token, item_id, scalar_id, label,
                                        submission_uuid=None):
        """Associate a result item with a particular scalar value.

        :param token: A valid token for the user in question.
        :type token: string
        :param item_id: The id of the item to associate with the scalar.
        :type item_id: int | long
        :param scalar_id: Scalar id with which to associate the item.
        :type scalar_id: int | long
        :param label: The label describing the nature of the association.
        :type label: string
        :param submission_uuid: (optional) The uuid of the submission to associate
            the item with (what Midas 3.4.2 requires instead of the scalar id).
        :type submission_uuid: None | string
        """
        self._call('midas.tracker.item.associate',
                   dict(token=token, item_id=item_id, scalar_id=scalar_id, label=label,
                        submission_uuid=submission_uuid))

    def upload_json_results(self, token, filepath, community_id, producer_display_name,
                            metric_name, producer_revision, submit_time, **kwargs):
        """Upload a JSON file containing numeric scoring results to be added as
        scalars. File is parsed and then deleted from the server.

        :param token: A valid token for the user in question.
        :param filepath: The path to the JSON file.
        :param community_id: The id of the community that owns the producer.
        :param producer_display_name: The display name of the producer.
        :param metric_name: The metric name sent with the results.
        :param producer_revision: The repository revision of the producer that
            produced this value.
        :param submit_time: The submit timestamp. Must be parsable with PHP
            strtotime().
        :param config_item_id: (optional) If this value pertains to a specific
            configuration item, pass its id here.
        :param test_dataset_id: (optional) If this value pertains to a specific
            test dataset, pass its id here.
        :param truth_dataset_id: (optional) If this value pertains to a specific
            ground truth dataset, pass its id here.
        :param parent_keys: (optional) Semicolon-separated list of parent keys to
            look for numeric results under. Use '.' to denote nesting, like in
            normal javascript syntax.
        :param silent: (optional) If true, do not perform threshold-based email
            notifications for this scalar.
        :param unofficial: (optional) If true, creates an unofficial scalar visible
            only to the user performing the submission.
        :param build_results_url: (optional) A URL for linking to build results for
            this submission.
        :param branch: (optional) The branch name in the source repository for this
            submission.
        :param params: (optional) Any key/value pairs that should be displayed with
            this scalar result.
        :type params: dict
        :param extra_urls: (optional) Other URL's that should be displayed with with
            this scalar result. Each element of the list should be a dict with the
            following keys: label, text, href
        :type extra_urls: list of dicts
        :returns: The list of scalars that were created.
        :rtype: list[dict]
        """
        params = dict(token=token, community_id=community_id,
                      producer_display_name=producer_display_name, metric_name=metric_name,
                      producer_revision=producer_revision, submit_time=submit_time)
        with _open_binary(filepath) as stream:
            return self._put('midas.tracker.results.upload.json', params, kwargs, stream)
