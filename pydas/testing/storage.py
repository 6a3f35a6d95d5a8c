"""The state of the embedded Midas server: SQLite plus an md5-addressed assetstore.

Everything lives in one data directory::

    midas.sqlite              the database (schema below, Midas table and column names)
    assetstore/ab/cd/<md5>    bitstream contents, stored once per checksum
    tmp/                      upload placeholders (``tmp/<user>/<item>/<random>``), scratch

API for handler modules (``call.store`` is a :class:`Store`):

* SQL: ``store.one(sql, *args)`` -> dict or None, ``store.all(sql, *args)`` -> list of
  dicts, ``store.execute(sql, *args)`` -> lastrowid. Each call is atomic; wrap several
  writes in ``with store.transaction():`` (re-entrant; one lock serialises writers).
* Objects as Midas returns them (dicts, keys in Midas order, values not yet strings):
  ``user(id)``, ``user_by_email(email)``, ``folder(id)``, ``item(id)``, ``revision(id)``,
  ``revisions(item_id)``, ``head_revision(item_id)``, ``revision_by_number(item_id, n)``,
  ``bitstream(id)``, ``bitstreams(revision_id)``, ``community(id)``, ``item_folders(item_id)``.
* Permissions (``user`` is a user dict or None for anonymous; levels READ=0, WRITE=1,
  ADMIN=2): ``can_access_folder(user, folder_id, level)``,
  ``can_access_item(user, item_id, level)``, ``can_access_community(user, id, level)``,
  ``item_level(user, item_id)`` / ``folder_level(...)`` (None if no access).
* Writes: ``create_item(user, name, folder_id, ...)``, ``create_revision(item_id, user_id,
  changes)``, ``add_bitstream_from_file(revision_id, name, path)`` (moves the file into
  the assetstore; ``revision_id`` -1 for thumbnails), ``delete_bitstream(id)``,
  ``set_metadata(revision_id, element, value, qualifier, type)``, ``metadata(revision_id)``,
  ``update_item_size(item_id, revision_id)``, ``temp_path()`` (a fresh scratch file name).
* Files: ``bitstream_file(bitstream)`` -> absolute path of the content;
  ``file_for_checksum(md5)`` -> path or None.
* Modules with their own tables call :func:`register_schema` at import time; their tables
  are created with the others and emptied by ``reset()``.
"""

import contextlib
import hashlib
import mimetypes
import os
import secrets
import shutil
import sqlite3
import string
import threading
import time
import uuid

from pydas.checksums import file_md5

READ, WRITE, ADMIN = 0, 1, 2
ANONYMOUS_GROUP = 0
USER_ROOT, COMMUNITY_ROOT = -1, -2
PUBLIC, PRIVATE = 0, 2
TOKEN_MINUTES = 100
CHUNK = 1 << 20
ALPHANUMERIC = string.digits + string.ascii_letters

#: The (element, qualifier) text fields of a fresh installation, in install order.
DEFAULT_METADATA = (
    ('contributor', 'author'), ('date', 'uploaded'), ('date', 'issued'), ('date', 'created'),
    ('identifier', 'citation'), ('identifier', 'uri'), ('identifier', 'pubmed'),
    ('identifier', 'doi'), ('description', 'general'), ('description', 'provenance'),
    ('description', 'sponsorship'), ('description', 'publisher'), ('subject', 'keyword'),
    ('subject', 'ocis'))

USER_FIELDS = ('user_id', 'firstname', 'lastname', 'email', 'thumbnail', 'company',
               'creation', 'folder_id', 'admin', 'privacy', 'view', 'uuid', 'city',
               'country', 'website', 'biography', 'dynamichelp')
COMMUNITY_FIELDS = ('community_id', 'name', 'description', 'creation', 'privacy',
                    'folder_id', 'admingroup_id', 'moderatorgroup_id', 'membergroup_id',
                    'can_join', 'view', 'uuid')
FOLDER_FIELDS = ('folder_id', 'left_index', 'right_index', 'parent_id', 'name',
                 'description', 'date_update', 'date_creation', 'view', 'teaser',
                 'privacy_status', 'uuid')
ITEM_FIELDS = ('item_id', 'name', 'description', 'type', 'sizebytes', 'date_creation',
               'date_update', 'thumbnail_id', 'view', 'download', 'privacy_status', 'uuid')
REVISION_FIELDS = ('itemrevision_id', 'item_id', 'revision', 'date', 'changes', 'user_id',
                   'license_id', 'uuid')
BITSTREAM_FIELDS = ('bitstream_id', 'itemrevision_id', 'assetstore_id', 'name', 'mimetype',
                    'sizebytes', 'checksum', 'path', 'date')

SCHEMA = """
CREATE TABLE IF NOT EXISTS setting (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS user (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT, firstname TEXT, lastname TEXT,
    email TEXT UNIQUE, thumbnail TEXT DEFAULT '', company TEXT DEFAULT '', creation TEXT,
    folder_id INTEGER, admin INTEGER DEFAULT 0, privacy INTEGER DEFAULT 0,
    view INTEGER DEFAULT 0, uuid TEXT, city TEXT DEFAULT '', country TEXT DEFAULT '',
    website TEXT DEFAULT '', biography TEXT DEFAULT '', dynamichelp INTEGER DEFAULT 1,
    password_hash TEXT, salt TEXT, otp_secret TEXT);
CREATE INDEX IF NOT EXISTS user_name ON user (firstname, lastname);
CREATE TABLE IF NOT EXISTS userapi (
    userapi_id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER, apikey TEXT,
    application_name TEXT, token_expiration_time INTEGER, creation_date TEXT);
CREATE INDEX IF NOT EXISTS userapi_user ON userapi (user_id, application_name);
CREATE TABLE IF NOT EXISTS token (
    token_id INTEGER PRIMARY KEY AUTOINCREMENT, userapi_id INTEGER, token TEXT UNIQUE,
    expiration REAL);
CREATE INDEX IF NOT EXISTS token_userapi ON token (userapi_id, expiration);
CREATE INDEX IF NOT EXISTS token_expiration ON token (expiration);
CREATE TABLE IF NOT EXISTS "group" (
    group_id INTEGER PRIMARY KEY AUTOINCREMENT, community_id INTEGER, name TEXT);
CREATE TABLE IF NOT EXISTS user2group (user_id INTEGER, group_id INTEGER,
    PRIMARY KEY (user_id, group_id));
CREATE TABLE IF NOT EXISTS community (
    community_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, description TEXT,
    creation TEXT, privacy INTEGER, folder_id INTEGER, admingroup_id INTEGER,
    moderatorgroup_id INTEGER, membergroup_id INTEGER, can_join INTEGER,
    view INTEGER DEFAULT 0, uuid TEXT);
CREATE INDEX IF NOT EXISTS community_name ON community (name);
CREATE TABLE IF NOT EXISTS folder (
    folder_id INTEGER PRIMARY KEY AUTOINCREMENT, left_index INTEGER, right_index INTEGER,
    parent_id INTEGER, name TEXT, description TEXT DEFAULT '', date_update TEXT,
    date_creation TEXT, view INTEGER DEFAULT 0, teaser TEXT DEFAULT '',
    privacy_status INTEGER DEFAULT 2, uuid TEXT);
CREATE INDEX IF NOT EXISTS folder_parent_name ON folder (parent_id, name);
CREATE TABLE IF NOT EXISTS item (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, description TEXT DEFAULT '',
    type INTEGER DEFAULT 0, sizebytes INTEGER DEFAULT 0, date_creation TEXT,
    date_update TEXT, thumbnail_id INTEGER, view INTEGER DEFAULT 0,
    download INTEGER DEFAULT 0, privacy_status INTEGER DEFAULT 2, uuid TEXT);
CREATE INDEX IF NOT EXISTS item_name ON item (name);
CREATE TABLE IF NOT EXISTS item2folder (
    item2folder_id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER, folder_id INTEGER);
CREATE INDEX IF NOT EXISTS item2folder_item ON item2folder (item_id);
CREATE INDEX IF NOT EXISTS item2folder_folder_item ON item2folder (folder_id, item_id);
CREATE TABLE IF NOT EXISTS itemrevision (
    itemrevision_id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER, revision INTEGER,
    date TEXT, changes TEXT DEFAULT '', user_id INTEGER, license_id INTEGER, uuid TEXT);
CREATE INDEX IF NOT EXISTS itemrevision_item ON itemrevision (item_id);
CREATE TABLE IF NOT EXISTS bitstream (
    bitstream_id INTEGER PRIMARY KEY AUTOINCREMENT, itemrevision_id INTEGER,
    assetstore_id INTEGER DEFAULT 1, name TEXT, mimetype TEXT, sizebytes INTEGER,
    checksum TEXT, path TEXT, date TEXT);
CREATE INDEX IF NOT EXISTS bitstream_revision ON bitstream (itemrevision_id);
CREATE INDEX IF NOT EXISTS bitstream_checksum ON bitstream (checksum);
CREATE INDEX IF NOT EXISTS bitstream_path ON bitstream (path);
CREATE TABLE IF NOT EXISTS itemthumbnail (
    itemthumbnail_id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER,
    thumbnail_id INTEGER);
CREATE INDEX IF NOT EXISTS itemthumbnail_item ON itemthumbnail (item_id);
CREATE TABLE IF NOT EXISTS metadata (
    metadata_id INTEGER PRIMARY KEY AUTOINCREMENT, metadatatype INTEGER, element TEXT,
    qualifier TEXT);
CREATE INDEX IF NOT EXISTS metadata_field ON metadata (element, qualifier, metadatatype);
CREATE TABLE IF NOT EXISTS metadatavalue (
    metadatavalue_id INTEGER PRIMARY KEY AUTOINCREMENT, metadata_id INTEGER,
    itemrevision_id INTEGER, value TEXT);
CREATE INDEX IF NOT EXISTS metadatavalue_revision ON metadatavalue (itemrevision_id,
    metadata_id);
CREATE TABLE IF NOT EXISTS folderpolicyuser (folder_id INTEGER, user_id INTEGER,
    policy INTEGER, PRIMARY KEY (folder_id, user_id));
CREATE TABLE IF NOT EXISTS folderpolicygroup (folder_id INTEGER, group_id INTEGER,
    policy INTEGER, PRIMARY KEY (folder_id, group_id));
CREATE TABLE IF NOT EXISTS itempolicyuser (item_id INTEGER, user_id INTEGER,
    policy INTEGER, PRIMARY KEY (item_id, user_id));
CREATE TABLE IF NOT EXISTS itempolicygroup (item_id INTEGER, group_id INTEGER,
    policy INTEGER, PRIMARY KEY (item_id, group_id));
CREATE TABLE IF NOT EXISTS uploadtoken (
    token TEXT PRIMARY KEY, user_id INTEGER, item_id INTEGER, path TEXT, creation TEXT);
"""

_MODULE_SCHEMAS = []


def register_schema(ddl):
    """Add ``CREATE TABLE IF NOT EXISTS`` statements of a Midas module to the schema."""
    if ddl not in _MODULE_SCHEMAS:
        _MODULE_SCHEMAS.append(ddl)


def random_string(length):
    """A random string over ``[0-9A-Za-z]``, like Midas's RandomComponent."""
    # The random bytes come in one system call, not one per character (10 us, not 90 us,
    # for an upload token). Bytes from 248 (4 x 62) up are dropped, so that every
    # character is as likely.
    below = 256 - 256 % len(ALPHANUMERIC)
    characters = []
    while len(characters) < length:
        characters.extend(ALPHANUMERIC[byte % len(ALPHANUMERIC)]
                          for byte in secrets.token_bytes(length) if byte < below)
    return ''.join(characters[:length])


def now():
    """The current local time as Midas writes dates."""
    return time.strftime('%Y-%m-%d %H:%M:%S')


def new_uuid():
    """A Midas uuid: 32 lower-case hex digits."""
    return uuid.uuid4().hex


def hash_password(password, salt):
    """The stored form of a password (salted SHA-256; the real server uses its own)."""
    return hashlib.sha256((salt + password).encode('utf-8')).hexdigest()


_MAGIC = ((b'\x89PNG\r\n\x1a\n', 'image/png'), (b'\xff\xd8\xff', 'image/jpeg'),
          (b'GIF87a', 'image/gif'), (b'GIF89a', 'image/gif'))


def detect_mimetype(path, name):
    """Guess a mime type the way Midas (libmagic, then the extension) would, roughly.

    Magic bytes for PNG, JPEG, GIF and DICOM, then the file name extension, then
    ``text/plain`` for UTF-8 text, else ``application/octet-stream``.
    """
    with open(path, 'rb') as handle:
        head = handle.read(65536)
    for magic, mimetype in _MAGIC:
        if head.startswith(magic):
            return mimetype
    if head[128:132] == b'DICM':
        return 'application/dicom'
    guessed = mimetypes.guess_type(name, strict=False)[0]
    if guessed:
        return guessed
    try:
        head.decode('utf-8')
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the 64 KiB sample is still text.
        if error.start < len(head) - 4 or b'\x00' in head:
            return 'application/octet-stream'
    return 'application/octet-stream' if b'\x00' in head else 'text/plain'


def _pick(row, fields):
    return None if row is None else {field: row[field] for field in fields}


class Store(object):
    """The database and files of one server (thread-safe).

    :param data_dir: the directory holding everything (created if missing)
    """

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.assetstore = os.path.join(data_dir, 'assetstore')
        self.tmp_dir = os.path.join(data_dir, 'tmp')
        for directory in (self.assetstore, self.tmp_dir):
            os.makedirs(directory, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(os.path.join(data_dir, 'midas.sqlite'),
                                   isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute('PRAGMA synchronous=NORMAL')
        self._db.executescript(SCHEMA + ''.join(_MODULE_SCHEMAS))

    # -- SQL -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self):
        """Run the block as one transaction (re-entrant; nested blocks join the outer)."""
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._db.execute('BEGIN IMMEDIATE')
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute('ROLLBACK')
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute('COMMIT')

    def execute(self, sql, *args):
        """Run one statement; return the last inserted row id."""
        with self._lock:
            return self._db.execute(sql, args).lastrowid

    def one(self, sql, *args):
        """The first row of a query as a dict, or None."""
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return None if row is None else dict(row)

    def all(self, sql, *args):
        """All rows of a query as dicts."""
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, args).fetchall()]

    def value(self, sql, *args):
        """The first column of the first row, or None."""
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def close(self):
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def tables(self):
        """Names of every table (core and registered modules)."""
        return [row['name'] for row in self.all(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]

    def reset(self):
        """Delete every row (ids restart at 1) and every stored file."""
        with self.transaction():
            for table in self.tables():
                if table != 'setting':
                    self.execute('DELETE FROM "%s"' % table)
            self.execute('DELETE FROM sqlite_sequence')
        for directory in (self.assetstore, self.tmp_dir):
            shutil.rmtree(directory, ignore_errors=True)
            os.makedirs(directory, exist_ok=True)

    def setting(self, name, default=None):
        """A persistent server setting."""
        found = self.value('SELECT value FROM setting WHERE name = ?', name)
        return default if found is None else found

    def set_setting(self, name, value):
        """Store a persistent server setting."""
        self.execute('INSERT OR REPLACE INTO setting (name, value) VALUES (?, ?)', name, value)

    # -- objects ---------------------------------------------------------------------

    def user(self, user_id):
        """The public fields of a user, or None."""
        return _pick(self.one('SELECT * FROM user WHERE user_id = ?', as_id(user_id)),
                     USER_FIELDS)

    def user_by_email(self, email):
        """The public fields of the user with this exact e-mail, or None.

        Midas compares with SQL ``=``, whose case sensitivity depends on the database
        (§7.2 #15); this server picks case-sensitive, as SQLite and PostgreSQL do.
        """
        return _pick(self.one('SELECT * FROM user WHERE email = ?', email), USER_FIELDS)

    def user_secret(self, user_id):
        """The private fields of a user (``password_hash``, ``salt``, ``otp_secret``)."""
        return self.one('SELECT password_hash, salt, otp_secret FROM user WHERE user_id = ?',
                        as_id(user_id))

    def community(self, community_id):
        """A community, or None."""
        return _pick(self.one('SELECT * FROM community WHERE community_id = ?',
                              as_id(community_id)), COMMUNITY_FIELDS)

    def folder(self, folder_id):
        """A folder, or None."""
        return _pick(self.one('SELECT * FROM folder WHERE folder_id = ?', as_id(folder_id)),
                     FOLDER_FIELDS)

    def item(self, item_id):
        """An item, or None."""
        return _pick(self.one('SELECT * FROM item WHERE item_id = ?', as_id(item_id)),
                     ITEM_FIELDS)

    def revision(self, revision_id):
        """An item revision, or None."""
        return _pick(self.one('SELECT * FROM itemrevision WHERE itemrevision_id = ?',
                              as_id(revision_id)), REVISION_FIELDS)

    def revisions(self, item_id):
        """The revisions of an item, ascending."""
        return [_pick(row, REVISION_FIELDS) for row in self.all(
            'SELECT * FROM itemrevision WHERE item_id = ? ORDER BY revision', as_id(item_id))]

    def head_revision(self, item_id):
        """The revision with the highest number, or None."""
        return _pick(self.one('SELECT * FROM itemrevision WHERE item_id = ? '
                              'ORDER BY revision DESC LIMIT 1', as_id(item_id)),
                     REVISION_FIELDS)

    def revision_by_number(self, item_id, number):
        """Revision ``number`` of an item, or None."""
        return _pick(self.one('SELECT * FROM itemrevision WHERE item_id = ? AND revision = ?',
                              as_id(item_id), as_id(number)), REVISION_FIELDS)

    def bitstream(self, bitstream_id):
        """A bitstream, or None."""
        return _pick(self.one('SELECT * FROM bitstream WHERE bitstream_id = ?',
                              as_id(bitstream_id)), BITSTREAM_FIELDS)

    def bitstreams(self, revision_id):
        """The bitstreams of a revision in insertion order."""
        return [_pick(row, BITSTREAM_FIELDS) for row in self.all(
            'SELECT * FROM bitstream WHERE itemrevision_id = ? ORDER BY bitstream_id',
            as_id(revision_id))]

    def item_folders(self, item_id):
        """The folders an item is linked to, in link order."""
        return [_pick(row, FOLDER_FIELDS) for row in self.all(
            'SELECT folder.* FROM item2folder JOIN folder USING (folder_id) '
            'WHERE item_id = ? ORDER BY item2folder_id', as_id(item_id))]

    def child_folders(self, folder_id):
        """The subfolders of a folder, sorted by name."""
        return [_pick(row, FOLDER_FIELDS) for row in self.all(
            'SELECT * FROM folder WHERE parent_id = ? ORDER BY name, folder_id',
            as_id(folder_id))]

    def child_items(self, folder_id):
        """The items of a folder, sorted by name."""
        return [_pick(row, ITEM_FIELDS) for row in self.all(
            'SELECT item.* FROM item2folder JOIN item USING (item_id) '
            'WHERE folder_id = ? ORDER BY item.name, item.item_id', as_id(folder_id))]

    # -- permissions -----------------------------------------------------------------

    def _level(self, kind, key, resource_id, user):
        if user is not None and str(user.get('admin')) == '1':
            return ADMIN
        levels = [self.value('SELECT policy FROM %spolicygroup WHERE %s = ? AND group_id = ?'
                             % (kind, key), resource_id, ANONYMOUS_GROUP)]
        if user is not None:
            user_id = as_id(user['user_id'])
            levels.append(self.value('SELECT policy FROM %spolicyuser WHERE %s = ? '
                                     'AND user_id = ?' % (kind, key), resource_id, user_id))
            levels.append(self.value(
                'SELECT MAX(policy) FROM %spolicygroup WHERE %s = ? AND group_id IN '
                '(SELECT group_id FROM user2group WHERE user_id = ?)' % (kind, key),
                resource_id, user_id))
        levels = [level for level in levels if level is not None]
        return max(levels) if levels else None

    def folder_level(self, user, folder_id):
        """The highest policy level ``user`` (None: anonymous) holds on a folder, or None."""
        return self._level('folder', 'folder_id', as_id(folder_id), user)

    def item_level(self, user, item_id):
        """The highest policy level ``user`` (None: anonymous) holds on an item, or None."""
        return self._level('item', 'item_id', as_id(item_id), user)

    def can_access_folder(self, user, folder_id, level):
        """Whether the folder exists and ``user`` holds at least ``level`` on it."""
        if self.folder(folder_id) is None:
            return False
        found = self.folder_level(user, folder_id)
        return found is not None and found >= level

    def can_access_item(self, user, item_id, level):
        """Whether the item exists and ``user`` holds at least ``level`` on it."""
        if self.item(item_id) is None:
            return False
        found = self.item_level(user, item_id)
        return found is not None and found >= level

    def user_group_ids(self, user):
        """The ids of the groups ``user`` belongs to (none for anonymous)."""
        if user is None:
            return set()
        return {row['group_id'] for row in self.all(
            'SELECT group_id FROM user2group WHERE user_id = ?', as_id(user['user_id']))}

    def can_access_community(self, user, community_id, level):
        """Community permission: READ public or member, WRITE moderator, ADMIN admin."""
        community = self.community(community_id)
        if community is None:
            return False
        if user is not None and str(user.get('admin')) == '1':
            return True
        groups = self.user_group_ids(user)
        if level == READ:
            return community['privacy'] == 0 or bool(
                groups & {community['membergroup_id'], community['moderatorgroup_id'],
                          community['admingroup_id']})
        allowed = {community['admingroup_id']}
        if level == WRITE:
            allowed.add(community['moderatorgroup_id'])
        return bool(groups & allowed)

    def set_policy(self, kind, resource_id, who, who_id, level):
        """Create or replace a policy; ``kind`` 'folder'/'item', ``who`` 'user'/'group'."""
        key = kind + '_id'  # folder_id or item_id
        self.execute('INSERT OR REPLACE INTO %spolicy%s (%s, %s_id, policy) VALUES (?, ?, ?)'
                     % (kind, who, key, who), as_id(resource_id), as_id(who_id), level)
        if who == 'group' and as_id(who_id) == ANONYMOUS_GROUP:
            self._refresh_privacy(kind, resource_id)

    def remove_policy(self, kind, resource_id, who, who_id):
        """Delete a policy (see :meth:`set_policy`)."""
        key = kind + '_id'  # folder_id or item_id
        self.execute('DELETE FROM %spolicy%s WHERE %s = ? AND %s_id = ?' % (kind, who, key, who),
                     as_id(resource_id), as_id(who_id))
        if who == 'group' and as_id(who_id) == ANONYMOUS_GROUP:
            self._refresh_privacy(kind, resource_id)

    def _refresh_privacy(self, kind, resource_id):
        key = kind + '_id'  # folder_id or item_id
        public = self.value('SELECT 1 FROM %spolicygroup WHERE %s = ? AND group_id = ?'
                            % (kind, key), as_id(resource_id), ANONYMOUS_GROUP)
        self.execute('UPDATE %s SET privacy_status = ? WHERE %s = ?' % (kind, key),
                     PUBLIC if public else PRIVATE, as_id(resource_id))

    def set_privacy(self, kind, resource_id, privacy):
        """Apply a ``Public``/``Private`` privacy: add or drop the anonymous READ policy."""
        if privacy == 'Public':
            self.set_policy(kind, resource_id, 'group', ANONYMOUS_GROUP, READ)
        else:
            self.remove_policy(kind, resource_id, 'group', ANONYMOUS_GROUP)

    def copy_folder_policies(self, folder_id, kind, target_id):
        """Copy every user and group policy of a folder onto a folder or item."""
        for who in ('user', 'group'):
            for row in self.all('SELECT * FROM folderpolicy%s WHERE folder_id = ?' % who,
                                as_id(folder_id)):
                self.set_policy(kind, target_id, who, row[who + '_id'], row['policy'])

    # -- users and tokens ------------------------------------------------------------

    def create_user(self, email, password, firstname, lastname, admin=False, otp_secret=None):
        """Create a user with home folder, Private/Public folders and Default API key.

        :returns: the user dict
        """
        salt = random_string(16)
        with self.transaction():
            user_id = self.execute(
                'INSERT INTO user (firstname, lastname, email, creation, admin, uuid, '
                'password_hash, salt, otp_secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                _capitalise(firstname), _capitalise(lastname), email.lower(), now(),
                1 if admin else 0, new_uuid(), hash_password(password, salt), salt, otp_secret)
            home = self.insert_folder('user_%d' % user_id, USER_ROOT)
            self.execute('UPDATE user SET folder_id = ? WHERE user_id = ?', home, user_id)
            self.set_policy('folder', home, 'user', user_id, ADMIN)
            for name in ('Private', 'Public'):
                child = self.insert_folder(name, home)
                self.set_policy('folder', child, 'user', user_id, ADMIN)
                if name == 'Public':
                    self.set_policy('folder', child, 'group', ANONYMOUS_GROUP, READ)
            self.execute('INSERT INTO userapi (user_id, apikey, application_name, '
                         'token_expiration_time, creation_date) VALUES (?, ?, ?, ?, ?)',
                         user_id, random_string(32), 'Default', TOKEN_MINUTES, now())
        return self.user(user_id)

    def check_password(self, user_id, password):
        """Whether ``password`` is the user's password."""
        secret = self.user_secret(user_id)
        return secret is not None and secrets.compare_digest(
            secret['password_hash'], hash_password(password, secret['salt']))

    def set_password(self, user_id, password):
        """Change a password; like Midas, this regenerates the Default API key."""
        salt = random_string(16)
        with self.transaction():
            self.execute('UPDATE user SET password_hash = ?, salt = ? WHERE user_id = ?',
                         hash_password(password, salt), salt, as_id(user_id))
            self.execute("UPDATE userapi SET apikey = ? WHERE user_id = ? "
                         "AND application_name = 'Default'", random_string(32), as_id(user_id))

    def default_api_key(self, user_id):
        """The user's Default API key, or None."""
        return self.value("SELECT apikey FROM userapi WHERE user_id = ? "
                          "AND application_name = 'Default'", as_id(user_id))

    def login_token(self, userapi):
        """Re-use the unexpired token of an API key record or issue a new one (§2.3).

        :returns: the token row (``token_id``, ``token``...)
        """
        with self.transaction():
            found = self.one('SELECT * FROM token WHERE userapi_id = ? AND expiration > ? '
                             'ORDER BY token_id LIMIT 1', userapi['userapi_id'], time.time())
            if found is not None:
                return found
            self.execute('DELETE FROM token WHERE expiration <= ?', time.time())
            expiration = time.time() + 60 * userapi['token_expiration_time']
            token_id = self.execute('INSERT INTO token (userapi_id, token, expiration) '
                                    'VALUES (?, ?, ?)', userapi['userapi_id'],
                                    random_string(32), expiration)
            return self.one('SELECT * FROM token WHERE token_id = ?', token_id)

    def user_for_token(self, token):
        """The user of an unexpired API token, or None."""
        row = self.one('SELECT userapi.user_id FROM token JOIN userapi USING (userapi_id) '
                       'WHERE token = ? AND expiration > ?', token, time.time())
        return None if row is None else self.user(row['user_id'])

    def expire_tokens(self):
        """Make every issued API token expire now."""
        self.execute('UPDATE token SET expiration = 0')

    # -- folders ---------------------------------------------------------------------

    def _open_gap(self, left, width):
        self.execute('UPDATE folder SET left_index = left_index + ? WHERE left_index >= ?',
                     width, left)
        self.execute('UPDATE folder SET right_index = right_index + ? WHERE right_index >= ?',
                     width, left)

    def _close_gap(self, right, width):
        self.execute('UPDATE folder SET left_index = left_index - ? WHERE left_index > ?',
                     width, right)
        self.execute('UPDATE folder SET right_index = right_index - ? WHERE right_index > ?',
                     width, right)

    def _gap_position(self, parent_id):
        # Nested sets as Midas keeps them: a child goes at its parent's right index, a
        # root folder at 0 (shifting everything).
        if as_id(parent_id) < 0:
            return 0
        return self.value('SELECT right_index FROM folder WHERE folder_id = ?', as_id(parent_id))

    def insert_folder(self, name, parent_id, description='', uuid=None):
        """Insert a bare folder row (no policy); return its id."""
        with self.transaction():
            left = self._gap_position(parent_id)
            self._open_gap(left, 2)
            stamp = now()
            return self.execute(
                'INSERT INTO folder (left_index, right_index, parent_id, name, description, '
                'date_update, date_creation, uuid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                left, left + 1, as_id(parent_id), name, description, stamp, stamp,
                uuid or new_uuid())

    def subtree_ids(self, folder_id):
        """The ids of a folder and all its descendants."""
        ids, pending = [], [as_id(folder_id)]
        while pending:
            current = pending.pop()
            ids.append(current)
            pending.extend(row['folder_id'] for row in self.all(
                'SELECT folder_id FROM folder WHERE parent_id = ?', current))
        return ids

    def move_folder(self, folder_id, parent_id):
        """Re-parent a folder with its subtree (nested-set indices follow)."""
        with self.transaction():
            folder = self.folder(folder_id)
            ids = self.subtree_ids(folder_id)
            marks = ','.join('?' * len(ids))
            width = folder['right_index'] - folder['left_index'] + 1
            # Park the subtree at negative indices (offset -1 - relative position).
            self.execute('UPDATE folder SET left_index = ? - left_index - 1, '
                         'right_index = ? - right_index - 1 WHERE folder_id IN (%s)' % marks,
                         folder['left_index'], folder['left_index'], *ids)
            self._close_gap(folder['right_index'], width)
            left = self._gap_position(parent_id)
            self._open_gap(left, width)
            self.execute('UPDATE folder SET left_index = ? - left_index - 1, '
                         'right_index = ? - right_index - 1 WHERE folder_id IN (%s)' % marks,
                         left, left, *ids)
            self.execute('UPDATE folder SET parent_id = ?, date_update = ? WHERE folder_id = ?',
                         as_id(parent_id), now(), as_id(folder_id))

    def delete_folder(self, folder_id):
        """Delete a folder recursively; items left without any folder are deleted."""
        with self.transaction():
            folder = self.folder(folder_id)
            for current in reversed(self.subtree_ids(folder_id)):
                for row in self.all('SELECT item_id FROM item2folder WHERE folder_id = ?',
                                    current):
                    self.unlink_item(row['item_id'], current)
                self.execute('DELETE FROM folderpolicyuser WHERE folder_id = ?', current)
                self.execute('DELETE FROM folderpolicygroup WHERE folder_id = ?', current)
                self.execute('DELETE FROM folder WHERE folder_id = ?', current)
            self._close_gap(folder['right_index'],
                            folder['right_index'] - folder['left_index'] + 1)

    # -- items -----------------------------------------------------------------------

    def free_item_name(self, folder_id, name):
        """``name``, or ``name (1)``, ``name (2)``... the first not used in the folder."""
        candidate, number = name, 0
        # items by name first (CROSS JOIN keeps that order): a name is rare, a folder may
        # hold 50,000 items
        while self.value('SELECT 1 FROM item CROSS JOIN item2folder USING (item_id) '
                         'WHERE item.name = ? AND folder_id = ? LIMIT 1',
                         candidate, as_id(folder_id)):
            number += 1
            candidate = '%s (%d)' % (name, number)
        return candidate

    def link_item(self, item_id, folder_id, rename=True):
        """Link an item into a folder, renaming it on a name clash when ``rename``."""
        with self.transaction():
            if rename:
                item = self.item(item_id)
                free = self.free_item_name(folder_id, item['name'])
                if free != item['name']:
                    self.execute('UPDATE item SET name = ? WHERE item_id = ?', free,
                                 as_id(item_id))
            self.execute('INSERT INTO item2folder (item_id, folder_id) VALUES (?, ?)',
                         as_id(item_id), as_id(folder_id))

    def unlink_item(self, item_id, folder_id):
        """Remove an item from a folder; delete it if that was its last folder."""
        with self.transaction():
            self.execute('DELETE FROM item2folder WHERE item_id = ? AND folder_id = ?',
                         as_id(item_id), as_id(folder_id))
            if not self.value('SELECT 1 FROM item2folder WHERE item_id = ?', as_id(item_id)):
                self.delete_item(item_id)

    def create_item(self, user, name, folder_id, description='', uuid=None,
                    creator_policy=True):
        """Create an item in a folder (de-duplicated name, the folder's policies).

        :param user: the creator (a user dict), who gets an ADMIN policy if
            ``creator_policy``
        :returns: the item id
        """
        with self.transaction():
            stamp = now()
            item_id = self.execute(
                'INSERT INTO item (name, description, date_creation, date_update, uuid) '
                'VALUES (?, ?, ?, ?, ?)', name, description, stamp, stamp, uuid or new_uuid())
            self.link_item(item_id, folder_id)
            self.copy_folder_policies(folder_id, 'item', item_id)
            if creator_policy and user is not None:
                self.set_policy('item', item_id, 'user', user['user_id'], ADMIN)
            return item_id

    def delete_item(self, item_id):
        """Delete an item everywhere with its revisions, bitstreams, metadata, policies."""
        with self.transaction():
            item_id = as_id(item_id)
            for revision in self.revisions(item_id):
                for bitstream in self.bitstreams(revision['itemrevision_id']):
                    self.delete_bitstream(bitstream['bitstream_id'])
                self.execute('DELETE FROM metadatavalue WHERE itemrevision_id = ?',
                             revision['itemrevision_id'])
            for row in self.all('SELECT thumbnail_id FROM itemthumbnail WHERE item_id = ? '
                                'UNION SELECT thumbnail_id FROM item WHERE item_id = ?',
                                item_id, item_id):
                if row['thumbnail_id'] is not None:
                    self.delete_bitstream(row['thumbnail_id'])
            for table in ('itemrevision', 'item2folder', 'itempolicyuser', 'itempolicygroup',
                          'itemthumbnail', 'item'):
                self.execute('DELETE FROM %s WHERE item_id = ?' % table, item_id)

    def create_revision(self, item_id, user_id, changes='', license_id=None):
        """Add revision max+1 to an item; return the revision dict."""
        with self.transaction():
            number = (self.value('SELECT MAX(revision) FROM itemrevision WHERE item_id = ?',
                                 as_id(item_id)) or 0) + 1
            revision_id = self.execute(
                'INSERT INTO itemrevision (item_id, revision, date, changes, user_id, '
                'license_id, uuid) VALUES (?, ?, ?, ?, ?, ?, ?)', as_id(item_id), number, now(),
                changes, as_id(user_id), license_id, new_uuid())
            return self.revision(revision_id)

    def update_item_size(self, item_id, revision_id):
        """Set the item size to the total of a revision's bitstreams; touch its date."""
        total = self.value('SELECT COALESCE(SUM(sizebytes), 0) FROM bitstream '
                           'WHERE itemrevision_id = ?', as_id(revision_id))
        self.execute('UPDATE item SET sizebytes = ?, date_update = ? WHERE item_id = ?',
                     total, now(), as_id(item_id))

    # -- bitstreams and files --------------------------------------------------------

    def temp_path(self):
        """A fresh file name in the scratch directory (the file is not created)."""
        return os.path.join(self.tmp_dir, 'scratch-' + random_string(24))

    def file_for_checksum(self, checksum):
        """The assetstore path holding this content, or None."""
        path = os.path.join(self.assetstore, checksum[:2], checksum[2:4], checksum)
        return path if len(checksum) == 32 and os.path.isfile(path) else None

    def bitstream_file(self, bitstream):
        """The absolute path of a bitstream's content."""
        return os.path.join(self.assetstore, *bitstream['path'].split('/'))

    def _keep_content(self, source, checksum):
        # Content de-duplication: the first copy of a checksum is kept, later ones dropped.
        relative = '%s/%s/%s' % (checksum[:2], checksum[2:4], checksum)
        target = os.path.join(self.assetstore, *relative.split('/'))
        if os.path.isfile(target):
            os.remove(source)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(source, target)
        return relative

    def add_bitstream(self, revision_id, name, mimetype, size, checksum, path,
                      assetstore_id=1):
        """Insert a bitstream row; return the bitstream dict."""
        bitstream_id = self.execute(
            'INSERT INTO bitstream (itemrevision_id, assetstore_id, name, mimetype, sizebytes, '
            'checksum, path, date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', as_id(revision_id),
            assetstore_id, name, mimetype, size, checksum, path, now())
        return self.bitstream(bitstream_id)

    def add_bitstream_from_file(self, revision_id, name, source, checksum=None,
                                mimetype=None):
        """Move a finished file into the assetstore and record it as a bitstream.

        :param revision_id: the revision id, or -1 for a thumbnail
        :param source: the file to take (it is moved or deleted)
        :param checksum: its MD5 if already known
        :param mimetype: its mime type, detected if None
        :returns: the bitstream dict
        """
        size = os.path.getsize(source)
        checksum = checksum or file_md5(source)[0]
        mimetype = mimetype or detect_mimetype(source, name)
        with self.transaction():
            relative = self._keep_content(source, checksum)
            return self.add_bitstream(revision_id, name, mimetype, size, checksum, relative)

    def delete_bitstream(self, bitstream_id):
        """Delete a bitstream; its file goes when no other bitstream uses it."""
        with self.transaction():
            bitstream = self.bitstream(bitstream_id)
            if bitstream is None:
                return
            self.execute('DELETE FROM bitstream WHERE bitstream_id = ?', as_id(bitstream_id))
            if bitstream['mimetype'] != 'url' and not self.value(
                    'SELECT 1 FROM bitstream WHERE path = ?', bitstream['path']):
                with contextlib.suppress(OSError):
                    os.remove(self.bitstream_file(bitstream))

    # -- metadata --------------------------------------------------------------------

    def define_default_metadata(self):
        """Define the text fields of a fresh Midas installation (API §3.9), ids 1-14.

        The transcripts agree: ``contributor.author``, the first default, is field 1 in
        36, and the fields dicomextractor defines in 133 start above the defaults.
        """
        with self.transaction():
            for element, qualifier in DEFAULT_METADATA:
                self.execute('INSERT INTO metadata (metadatatype, element, qualifier) '
                             'VALUES (0, ?, ?)', element, qualifier)

    def set_metadata(self, revision_id, element, value, qualifier='', metadatatype=0):
        """Set (or overwrite) one metadata value on a revision, defining the field."""
        with self.transaction():
            metadata_id = self.value(
                'SELECT metadata_id FROM metadata WHERE metadatatype = ? AND element = ? '
                'AND qualifier = ?', metadatatype, element, qualifier)
            if metadata_id is None:
                metadata_id = self.execute('INSERT INTO metadata (metadatatype, element, '
                                           'qualifier) VALUES (?, ?, ?)', metadatatype,
                                           element, qualifier)
            self.execute('DELETE FROM metadatavalue WHERE metadata_id = ? '
                         'AND itemrevision_id = ?', metadata_id, as_id(revision_id))
            self.execute('INSERT INTO metadatavalue (metadata_id, itemrevision_id, value) '
                         'VALUES (?, ?, ?)', metadata_id, as_id(revision_id), value)

    def metadata(self, revision_id):
        """The metadata entries of a revision (``metadata_id, metadatatype, element,
        qualifier, value``)."""
        return self.all('SELECT metadata.metadata_id, metadatatype, element, qualifier, value '
                        'FROM metadatavalue JOIN metadata USING (metadata_id) '
                        'WHERE itemrevision_id = ? ORDER BY metadatavalue_id',
                        as_id(revision_id))


#: What :func:`as_id` gives for a value that is no id: it matches no row.
NO_ID = -999
#: The range of SQLite integers: an id outside matches nothing, as in Midas's SQL.
SQL_INTEGER_RANGE = range(-(1 << 63), 1 << 63)


def as_id(value):
    """An id as an integer (ids arrive as strings); :data:`NO_ID` for garbage or for a
    number out of the database's range (both match nothing)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return NO_ID
    return number if number in SQL_INTEGER_RANGE else NO_ID


def _capitalise(name):
    return name[:1].upper() + name[1:]
