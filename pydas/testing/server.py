"""``MidasServer``: the embedded Midas server as a Python object (start, stop, inspect)."""

import importlib
import logging
import os
import shutil
import tempfile
import threading

from pydas.testing import communities, downloads, otp, storage
from pydas.testing.faults import Faults
from pydas.testing.http import MidasHTTPServer

#: The API areas: importing them registers their handlers (core first, then modules).
API_AREAS = tuple(importlib.import_module('pydas.testing.' + name) for name in (
    'system', 'users', 'communities', 'folders', 'items', 'uploads', 'downloads',
    'resources', 'permissions', 'metadata', 'groups',
    'mfa', 'tracker', 'trackeraggregates', 'thumbnails', 'dicom', 'batchmake', 'solr'))

LOG = logging.getLogger('pydas.testing')
ADMIN_EMAIL = 'admin@example.org'
MAX_RECORDED_CALLS = 10000


class MidasServer(object):
    """A Midas Server 3.4.2 serving the JSON web API over HTTP on a background thread.

    :param data_dir: where the database and files live; None for a temporary directory
        deleted on :meth:`stop` (a named directory is kept, and its state survives a
        restart)
    :param host: the address to bind (loopback by default)
    :param port: the port, 0 for an ephemeral one
    :param modules: the enabled Midas modules, default :attr:`DEFAULT_MODULES`. Two
        pseudo-modules change module behaviour: ``tracker_legacy`` serves the tracker
        methods removed in 2016, ``solr_offline`` makes Solr searches fail as when no
        Solr server is reachable.
    """

    #: Every module, plus the pre-2016 tracker methods pydas calls: every driver method works.
    DEFAULT_MODULES = ('mfa', 'tracker', 'thumbnailcreator', 'dicomextractor', 'batchmake',
                       'solr', 'tracker_legacy')
    #: Midas 3.4.2 as recorded in the transcripts: no batchmake, Solr unreachable.
    RECORDED_MODULES = ('mfa', 'tracker', 'thumbnailcreator', 'dicomextractor', 'solr',
                        'solr_offline')

    def __init__(self, data_dir=None, host='127.0.0.1', port=0, modules=None):
        self.modules = tuple(self.DEFAULT_MODULES if modules is None else modules)
        self.host = host
        self.port = port
        self._named_dir = data_dir
        self.data_dir = None
        self.store = None
        self.calls = []
        self.faults = Faults({'expire_tokens': self.expire_tokens, 'reset': self.reset})
        self.routes = {'/download': downloads.controller}
        self._httpd = None
        self._thread = None

    # -- life cycle ------------------------------------------------------------------

    def start(self):
        """Open the data directory, install Midas if it is new, and start serving.

        :returns: self
        """
        if self._named_dir is None:
            self.data_dir = tempfile.mkdtemp(prefix='pydas-midas-')
        else:
            self.data_dir = os.path.abspath(self._named_dir)
            os.makedirs(self.data_dir, exist_ok=True)
        self.store = storage.Store(self.data_dir)
        if self.store.user_by_email(ADMIN_EMAIL) is None:
            self._install()
        self._httpd = MidasHTTPServer((self.host, self.port), self)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={'poll_interval': 0.05},
                                        name='pydas-midas-server', daemon=True)
        self._thread.start()
        LOG.info('Midas server listening on %s', self.url)
        return self

    def stop(self):
        """Stop serving, close open connections, delete a temporary data directory."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self.store.close()
        if self._named_dir is None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _install(self):
        password = self.store.setting('admin_password')
        if password is None:
            password = storage.random_string(16)
            self.store.set_setting('admin_password', password)
        self.store.create_user(ADMIN_EMAIL, password, 'Admin', 'User', admin=True)
        self.store.define_default_metadata()

    # -- addresses and credentials ---------------------------------------------------

    @property
    def url(self):
        """The base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        host, port = self._httpd.server_address[:2]
        return 'http://%s:%d' % (host, port)

    @property
    def admin_email(self):
        """The site administrator's e-mail."""
        return ADMIN_EMAIL

    @property
    def admin_password(self):
        """The site administrator's password (random, kept in the data directory)."""
        return self.store.setting('admin_password')

    @property
    def admin_api_key(self):
        """The site administrator's Default API key."""
        return self.store.default_api_key(self.store.user_by_email(ADMIN_EMAIL)['user_id'])

    # -- state -----------------------------------------------------------------------

    def add_user(self, email, password, firstname='', lastname='', admin=False, mfa=False):
        """Create a user (home folder, Private/Public, Default API key).

        :param mfa: give the user a TOTP device (see :meth:`totp`)
        :returns: dict with ``user_id``, ``email``, ``password``, ``api_key``,
            ``folder_id`` and, for MFA users, ``otp_secret``
        :rtype: dict
        """
        secret = otp.new_secret() if mfa else None
        user = self.store.create_user(email, password, firstname, lastname, admin, secret)
        created = {'user_id': user['user_id'], 'email': user['email'], 'password': password,
                   'api_key': self.store.default_api_key(user['user_id']),
                   'folder_id': user['folder_id']}
        if mfa:
            created['otp_secret'] = secret
        return created

    def totp(self, email):
        """The current TOTP code of an MFA user."""
        user = self.store.user_by_email(email)
        return otp.totp(self.store.user_secret(user['user_id'])['otp_secret'])

    def add_community(self, name, privacy='Public', owner=None, description='',
                      can_join='Everyone'):
        """Create a community as Midas does, owned by ``owner`` (e-mail; default admin).

        :returns: the community dict
        """
        creator = self.store.user_by_email(owner or ADMIN_EMAIL)
        return communities.create_community(self.store, creator, name, description,
                                            privacy, can_join)

    def reset(self):
        """Return to a fresh installation (only the admin), without restarting."""
        self.store.reset()
        self._install()
        self.faults.clear()
        self.clear_calls()

    def expire_tokens(self):
        """Make every issued API token expire now."""
        self.store.expire_tokens()

    def query(self, sql, *args):
        """Rows of an SQL query on the server state, as dicts (for tests)."""
        return self.store.all(sql, *args)

    def assetstore_file(self, checksum):
        """The path of the stored content with this MD5, or None."""
        return self.store.file_for_checksum(checksum)

    # -- recorded calls --------------------------------------------------------------

    def record(self, call):
        """Remember one received call (bounded: the oldest half goes when full)."""
        if len(self.calls) >= MAX_RECORDED_CALLS:
            del self.calls[:MAX_RECORDED_CALLS // 2]
        self.calls.append(call)

    def clear_calls(self):
        """Forget the recorded calls."""
        del self.calls[:]
