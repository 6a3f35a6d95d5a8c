"""State of the high-level API: a :class:`Client`, and the module-level names of old scripts.

A :class:`Client` holds one :class:`pydas.core.Communicator` and the
credentials of one user; create several to talk to several servers, or as
several users, or from several threads. The functions of :mod:`pydas.api` work
on a default client, whose state stays readable (and writable) under the
original module-level names of this module::

    pydas.session.communicator, pydas.session.email, pydas.session.api_key,
    pydas.session.application, pydas.session.token,
    pydas.session.item_upload_callbacks, pydas.session.item_download_callbacks,
    pydas.session.folder_download_callbacks,
    pydas.session.allow_existing_download_paths
"""

import getpass
import logging
import sys
import threading
import types

from six.moves import input

from pydas import arguments
from pydas.core import Communicator
from pydas.downloader import download_folder, download_path
from pydas.exceptions import InvalidToken, PydasException, TokenRenewalFailed
from pydas.serverpaths import Resource
from pydas.uploader import upload_files

logger = logging.getLogger('pydas')

_STATE_NAMES = (
    'communicator', 'email', 'api_key', 'application', 'token', 'item_upload_callbacks',
    'item_download_callbacks', 'folder_download_callbacks', 'allow_existing_download_paths')


def ask_one_time_password_on_terminal():
    """Ask for the one-time password of a second factor without echo.

    :returns: the one-time password
    :rtype: string
    """
    return getpass.getpass('One-Time Password: ')


class Client(object):
    """A connection to one Midas server as one user, with transfer callbacks.

    :param url: (optional) URL of the server; :meth:`login` asks for it if missing
    :type url: None | string
    :param communicator: (optional) an existing communicator to use instead
    :type communicator: None | pydas.core.Communicator
    :param verify_ssl_certificate: (optional) ``False`` skips the check of the server's
        TLS certificate (a warning is logged once per server), the path of a CA bundle
        checks it against that bundle
    :type verify_ssl_certificate: bool | string
    :param ask_one_time_password: (optional) returns the one-time password of a user
        with a second factor (default: :func:`ask_one_time_password_on_terminal`)
    :type ask_one_time_password: None | callable

    :ivar communicator: the :class:`pydas.core.Communicator` (None before a URL is known)
    :ivar email: e-mail address of the user
    :ivar api_key: API key tokens are obtained with
    :ivar application: application name of the API key
    :ivar token: the current API token
    :ivar item_upload_callbacks: called with (communicator, token, item id) per uploaded item
    :ivar item_download_callbacks: called with (communicator, token, item dict, local path)
        per downloaded item
    :ivar folder_download_callbacks: called with (communicator, token, folder dict,
        local path) per downloaded folder, after its contents
    :ivar allow_existing_download_paths: if False, downloading a folder into an
        existing directory of the same name raises :class:`FileExistsError`
    """

    def __init__(self, url=None, communicator=None, verify_ssl_certificate=True,
                 ask_one_time_password=None):
        arguments.require_url('Client', 'url', url, optional=True)
        arguments.require_callable('Client', 'ask_one_time_password', ask_one_time_password)
        if communicator is None and url is not None:
            communicator = Communicator(url)
        self.communicator = communicator
        # What a communicator this client creates for another URL starts with.
        self._verify_ssl_certificate = verify_ssl_certificate
        if communicator is not None:
            communicator.verify_ssl_certificate = verify_ssl_certificate
        self.email = None
        self.api_key = None
        self.application = None
        self.token = None
        self.ask_one_time_password = ask_one_time_password or ask_one_time_password_on_terminal
        self.item_upload_callbacks = []
        self.item_download_callbacks = []
        self.folder_download_callbacks = []
        self.allow_existing_download_paths = False
        self._renew_lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the connections of the communicator."""
        if self.communicator is not None:
            self.communicator.close()

    # Credentials -------------------------------------------------------------

    def login(self, email=None, password=None, api_key=None, application='Default', url=None,
              verify_ssl_certificate=True, token=None, ask_one_time_password=None):
        """Log in to a server, asking on the terminal for whatever is missing.

        Without an API key, the user's default API key is fetched with the
        password (asked for without echo if not given). A user with a second
        factor is asked for a one-time password.

        :param email: (optional) e-mail address of the user
        :type email: None | string
        :param password: (optional) password of the user
        :type password: None | string
        :param api_key: (optional) API key of the user
        :type api_key: None | string
        :param application: (optional) application name of ``api_key``
        :type application: string
        :param url: (optional) URL of the server (default: the client's)
        :type url: None | string
        :param verify_ssl_certificate: (optional) ``False`` skips the check of the server's
            TLS certificate, the path of a CA bundle checks it against that bundle; the
            default keeps the client's setting (and its communicator's), which checks it
            unless told otherwise
        :type verify_ssl_certificate: bool | string
        :param token: (optional) a token obtained already; no login call is made
        :type token: None | string
        :param ask_one_time_password: (optional) returns the one-time password of a user
            with a second factor, here and at every renewal (default: a terminal prompt)
        :type ask_one_time_password: None | callable
        :returns: the API token
        :rtype: string
        :raises pydas.exceptions.PydasException: if the server refuses the credentials
        """
        for name, value in (('email', email), ('password', password), ('api_key', api_key),
                            ('token', token)):
            arguments.require_text('login', name, value, optional=True)
        arguments.require_nonempty_text('login', 'application', application)
        arguments.require_url('login', 'url', url, optional=True)
        arguments.require_callable('login', 'ask_one_time_password', ask_one_time_password)
        self._connect(url, verify_ssl_certificate)
        if email is None:
            email = input('Email: ')
        if api_key is None:
            if password is None:
                password = getpass.getpass('Password: ')
            api_key = self.communicator.get_default_api_key(email, password)
            application = 'Default'
        self.email, self.api_key, self.application = email, api_key, application
        if ask_one_time_password is not None:
            self.ask_one_time_password = ask_one_time_password
        if token is not None:
            self.token = token
            return token
        return self.renew_token()

    def renew_token(self):
        """Get a new token with the API key, asking for a one-time password if needed.

        :returns: the API token
        :rtype: string
        :raises pydas.exceptions.PydasException: if the server refuses the credentials
        """
        answer = self.communicator.login(self.email, self.api_key,
                                         self.application or 'Default')
        if 'mfa_token_id' in answer:
            self.token = self.communicator.mfa_otp_login(answer['mfa_token_id'],
                                                         self.ask_one_time_password())
        else:
            self.token = answer['token']
        return self.token

    def verify_credentials(self):
        """Return a token, logging in (and asking for what is missing) if there is none.

        :returns: the API token
        :rtype: string
        """
        if self.communicator is None or self.email is None or self.api_key is None:
            return self.login(url=self.communicator.url if self.communicator else None)
        if self.token is None:
            return self.renew_token()
        return self.token

    def with_token(self, operation):
        """Call ``operation(token)``; if the token expired, renew it once and call again.

        Safe to use from several threads: one renewal serves every thread that
        saw the same token expire. A refused renewal raises at once.

        :param operation: a call that needs the token
        :type operation: callable
        :returns: what ``operation`` returns
        """
        token = self.verify_credentials()
        try:
            return operation(token)
        except InvalidToken:
            logger.info('the API token expired; renewing it')
            return operation(self._renewed(token))

    def _renewed(self, stale_token):
        with self._renew_lock:
            if self.token == stale_token:
                try:
                    self.renew_token()
                except PydasException as error:
                    raise TokenRenewalFailed(
                        'the token expired and the server refused to renew it: {0}'.format(
                            error)) from error
            return self.token

    def _connect(self, url, verify_ssl_certificate):
        if url is None and self.communicator is None:
            url = input('Server URL: ')
        if url is not None and (self.communicator is None
                                or self.communicator.url != url.rstrip('/')):
            if self.communicator is not None:
                self.communicator.close()
            self.communicator = Communicator(url)
            self.communicator.verify_ssl_certificate = self._verify_ssl_certificate
        # The default (True) keeps an opt-out made on the client or its communicator.
        if verify_ssl_certificate is not True:
            self.communicator.verify_ssl_certificate = verify_ssl_certificate

    # Callbacks ---------------------------------------------------------------

    def add_item_upload_callback(self, callback):
        """Call ``callback(communicator, token, item_id)`` after each uploaded item."""
        self.item_upload_callbacks.append(callback)

    def add_item_download_callback(self, callback):
        """Call ``callback(communicator, token, item, local_path)`` after each downloaded item."""
        self.item_download_callbacks.append(callback)

    def add_folder_download_callback(self, callback):
        """Call ``callback(communicator, token, folder, local_path)`` after each folder."""
        self.folder_download_callbacks.append(callback)

    # Transfers ---------------------------------------------------------------

    def upload(self, file_pattern, destination='Private', leaf_folders_as_items=False,
               reuse_existing=False, **options):
        """Upload files and folders; see :func:`pydas.api.upload`."""
        arguments.require_path('upload', 'file_pattern', file_pattern)
        if not isinstance(destination, Resource):
            arguments.require_nonempty_text('upload', 'destination', destination)
        arguments.require_transfer_options('upload', options)
        return upload_files(self, file_pattern, destination, leaf_folders_as_items,
                            reuse_existing, **options)

    def download(self, server_path, local_path='.', **options):
        """Download a folder or an item; see :func:`pydas.api.download`."""
        if not isinstance(server_path, Resource):
            arguments.require_nonempty_text('download', 'server_path', server_path)
        arguments.require_directory_path('download', 'local_path', local_path)
        arguments.require_transfer_options('download', options)
        return download_path(self, server_path, local_path, **options)

    def download_folder_recursive(self, folder_id, path='.', **options):
        """Download a folder by id; see :func:`pydas.api.download_folder_recursive`."""
        arguments.require_id('download_folder_recursive', 'folder_id', folder_id)
        arguments.require_directory_path('download_folder_recursive', 'path', path)
        arguments.require_transfer_options('download_folder_recursive', options)
        return download_folder(self, folder_id, path, **options)


#: The client the functions of :mod:`pydas.api` use.
default_client = Client()


class _SessionModule(types.ModuleType):
    """This module, with its original global names forwarded to :data:`default_client`."""


def _forward(name):
    def get(module):
        return getattr(module.default_client, name)

    def set_(module, value):
        setattr(module.default_client, name, value)
    return property(get, set_)


for _name in _STATE_NAMES:
    setattr(_SessionModule, _name, _forward(_name))
del _name

sys.modules[__name__].__class__ = _SessionModule
