"""``MidasServer``: the embedded Midas server as a Python object (start, stop, inspect)."""

import importlib
import logging
import os
import shutil
import tempfile

from pydas.testing import communities, downloads, otp, storage
from pydas.testing.connections import ConnectionServer, Limits
from pydas.testing.faults import Faults
from pydas.testing.http import RecordedCall, serve_connection

#: The API areas: importing them registers their handlers (core first, then modules).
API_AREAS = tuple(importlib.import_module('pydas.testing.' + name) for name in (
    'system', 'users', 'communities', 'folders', 'items', 'uploads', 'downloads',
    'resources', 'permissions', 'metadata', 'groups',
    'mfa', 'tracker', 'trackeraggregates', 'thumbnails', 'dicom', 'batchmake', 'solr'))

LOG = logging.getLogger('pydas.testing')
ADMIN_EMAIL = 'admin@example.org'
#: Default of ``max_calls``: how many received calls :attr:`MidasServer.calls` keeps.
MAX_RECORDED_CALLS = 1000
#: Characters kept of each recorded parameter and header value.
RECORDED_VALUE_LIMIT = 1024


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
    :param workers: how many requests are processed at once (default 32); the others
        wait (see also :meth:`set_workers`)
    :param limits: connection limits and timeouts, a
        :class:`~pydas.testing.Limits` (``workers`` overrides its own)
    :param max_calls: how many received calls :attr:`calls` keeps (default 1000; when
        full, the oldest half is forgotten); each parameter and header value is kept to
        its first 1024 characters
    """

    #: Every module, plus the pre-2016 tracker methods pydas calls: every driver method works.
    DEFAULT_MODULES = ('mfa', 'tracker', 'thumbnailcreator', 'dicomextractor', 'batchmake',
                       'solr', 'tracker_legacy')
    #: Midas 3.4.2 as recorded in the transcripts: no batchmake, Solr unreachable.
    RECORDED_MODULES = ('mfa', 'tracker', 'thumbnailcreator', 'dicomextractor', 'solr',
                        'solr_offline')

    def __init__(self, data_dir=None, host='127.0.0.1', port=0, modules=None, workers=None,
                 limits=None, max_calls=MAX_RECORDED_CALLS):
        self.limits = limits or Limits()
        self._httpd = None
        if workers is not None:
            self.set_workers(workers)
        self.max_calls = max(int(max_calls), 1)
        self.modules = tuple(self.DEFAULT_MODULES if modules is None else modules)
        self.host = host
        self.port = port
        self._named_dir = data_dir
        self.data_dir = None
        self.store = None
        self.calls = []
        self.faults = Faults({'expire_tokens': self.expire_tokens, 'reset': self.reset,
                              'workers': self.set_workers})
        self.routes = {'/download': downloads.controller}

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
        self._httpd = ConnectionServer((self.host, self.port),
                                       lambda connection: serve_connection(self, connection),
                                       self.limits)
        self._httpd.start()
        LOG.info('Midas server listening on %s', self.url)
        return self

    def stop(self):
        """Stop serving, close open connections, delete a temporary data directory."""
        if self._httpd is None:
            return
        self._httpd.stop()
        self.store.close()
        if self._named_dir is None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self._httpd = None

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
    def open_connections(self):
        """How many client connections are open (waiting or being served)."""
        return self._httpd.open_connections

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

    def set_workers(self, count):
        """Process at most ``count`` requests at once from now on (others wait); also the
        ``workers`` action of the fault endpoint (``{"action": "workers", "count": 2}``)."""
        if int(count) < 1:
            raise ValueError('workers must be at least 1')
        self.limits.workers = int(count)
        if self._httpd is not None:
            self._httpd.set_workers(count)

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

    def record(self, verb, method, query, form, headers):
        """Remember one received call, its values truncated (see ``max_calls``)."""
        if len(self.calls) >= self.max_calls:
            del self.calls[:max(self.max_calls // 2, 1)]
        self.calls.append(RecordedCall(verb, method, _truncated(query), _truncated(form),
                                       _truncated(headers)))

    def clear_calls(self):
        """Forget the recorded calls."""
        del self.calls[:]


def _truncated(values):
    """A copy of a mapping whose string values keep their first characters only."""
    return {name: value[:RECORDED_VALUE_LIMIT] for name, value in values.items()}
