"""The small local databases of pydas (checksum cache, unfinished uploads), one mechanism.

A :class:`StateDB` is an SQLite file of the user's that helps pydas go faster
or resume, and that pydas can always do without. It is created on first use
with its missing directories (mode 0700) and the file itself (mode 0600: the
upload state holds secrets), in WAL journal mode with a busy timeout, so that
several pydas processes can use one file at once. Whatever goes wrong with it
(a corrupt file, a lock held beyond the timeout, an unwritable directory, a
full disk) it becomes *disabled* for the rest of the process: lookups find
nothing and writes are dropped, after one warning on the ``pydas`` logger
naming the file and the reason. A transfer never fails because of it.

The databases live in the directories of the XDG base directory specification:
:func:`pydas.userdirs.user_cache_dir` for what can be rebuilt,
:func:`pydas.userdirs.user_state_dir` for
what cannot.
"""

import logging
import os
import sqlite3
import stat
import threading
import weakref

from pydas import userdirs

logger = logging.getLogger('pydas')

#: Seconds a statement waits for a lock another connection holds before the database is
#: disabled (pydas's own statements hold locks for microseconds).
BUSY_TIMEOUT = 5.0

FILE_MODE = 0o600

#: Values of an environment variable such as ``PYDAS_CHECKSUM_CACHE`` that turn a database off.
OFF_VALUES = frozenset(['off', '0', 'false', 'no'])

# Path -> reason, for every database disabled in this process: a database is disabled,
# and warned about, once per process, whichever StateDB object meets the failure.
_disabled = {}
_disabled_lock = threading.Lock()

# Databases with an open connection, to drop those connections in a forked child: SQLite
# connections must not cross fork(), and closing one in the child could release the
# parent's locks, so the child keeps them, unused, in _inherited_connections.
_open_databases = weakref.WeakSet()
_inherited_connections = []


def disabled_by_environment(variable):
    """Tell whether an environment variable turns a database off (``off``, ``0``, ``false``,
    ``no``, in any case).

    :param variable: name of the environment variable, e.g. ``PYDAS_CHECKSUM_CACHE``
    :type variable: string
    :rtype: bool
    """
    return os.environ.get(variable, '').strip().lower() in OFF_VALUES


def path_key(path):
    """Return the key of a local file in a database: its absolute path, as bytes.

    Bytes, because a file name need not be valid UTF-8 (:func:`os.fsencode`
    gives back the bytes of the file system). Symbolic links are not resolved.

    :param path: the file
    :type path: string, bytes or os.PathLike
    :rtype: bytes
    """
    return os.fsencode(os.path.abspath(os.fspath(path)))


def _create_private_file(path):
    # O_NOFOLLOW: a symbolic link at the database's name is refused, not written through.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError('{0} is not a regular file'.format(path))
        # Also narrows a file an older program created wider. SQLite gives its -wal
        # and -shm files the mode of the database file.
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)


class StateDB(object):
    """An SQLite database that pydas can do without, safe to share between threads and
    processes.

    Nothing is opened before the first :meth:`query` or :meth:`execute`. One
    connection serves every thread, one statement at a time under a lock (a
    statement takes microseconds); each statement is a transaction of its own.

    :param path: the database file
    :type path: string
    :param schema: statements creating the tables and indexes if they do not exist, run
        each time the database is opened
    :type schema: sequence of strings
    :param purpose: what the database is, for the warning (e.g. ``'checksum cache'``)
    :type purpose: string
    :param busy_timeout: seconds to wait for another connection's lock
    :type busy_timeout: float
    """

    def __init__(self, path, schema, purpose, busy_timeout=BUSY_TIMEOUT):
        self.path = os.path.abspath(path)
        self.purpose = purpose
        self._schema = tuple(schema)
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._connection = None

    @property
    def enabled(self):
        """False once the database has failed in this process (True before its first use).

        :rtype: bool
        """
        return self.path not in _disabled

    def query(self, sql, parameters=()):
        """Run a statement and return its rows; no rows when the database is disabled.

        :param sql: one SQL statement
        :type sql: string
        :param parameters: values of its ``?`` placeholders
        :type parameters: sequence
        :rtype: list of tuples
        """
        with self._lock:
            connection = self._connect()
            if connection is None:
                return []
            try:
                return connection.execute(sql, parameters).fetchall()
            except (sqlite3.Error, OSError) as error:
                self._disable(error)
                return []

    def execute(self, sql, parameters=()):
        """Run a statement that writes; nothing happens when the database is disabled.

        :param sql: one SQL statement
        :type sql: string
        :param parameters: values of its ``?`` placeholders
        :type parameters: sequence
        :returns: whether the statement was run
        :rtype: bool
        """
        self.query(sql, parameters)
        return self.enabled

    def close(self):
        """Close the connection; the next statement opens it again."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
                _open_databases.discard(self)

    def _connect(self):
        if self._connection is not None or not self.enabled:
            return self._connection
        connection = None
        try:
            userdirs.make_private_dirs(os.path.dirname(self.path))
            _create_private_file(self.path)
            # Autocommit (isolation_level=None): no transaction is left open between calls.
            connection = sqlite3.connect(self.path, timeout=self._busy_timeout,
                                         isolation_level=None, check_same_thread=False)
            connection.execute('PRAGMA journal_mode=WAL')
            # In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last
            # writes, which pydas can do without.
            connection.execute('PRAGMA synchronous=NORMAL')
            for statement in self._schema:
                connection.execute(statement)
        except (sqlite3.Error, OSError) as error:
            if connection is not None:
                connection.close()
            self._disable(error)
            return None
        self._connection = connection
        _open_databases.add(self)
        return connection

    def _disable(self, reason):
        if self._connection is not None:
            try:
                self._connection.close()
            except sqlite3.Error:
                pass
            self._connection = None
            _open_databases.discard(self)
        with _disabled_lock:
            if self.path in _disabled:
                return
            _disabled[self.path] = str(reason)
        logger.warning('pydas %s %s is not usable, going on without it: %s',
                       self.purpose, self.path, reason)

    def _drop_after_fork(self):
        self._lock = threading.Lock()
        if self._connection is not None:
            _inherited_connections.append(self._connection)
            self._connection = None


class LocalDatabase(object):
    """The base of pydas's local databases: a :class:`StateDB` that an option or an
    environment variable turns off.

    A subclass names its :attr:`directory`, :attr:`file_name`,
    :attr:`environment_variable`, :attr:`purpose` and :attr:`schema`.

    :param path: the database file; None for :attr:`file_name` in :attr:`directory`
    :type path: string or None
    :param enabled: False for a database that finds and keeps nothing (and touches no
        file); None to follow :attr:`environment_variable`
    :type enabled: bool or None
    :param busy_timeout: seconds to wait for another process's lock before going on
        without the database
    :type busy_timeout: float
    """

    #: Function returning the directory of the database by default.
    directory = staticmethod(userdirs.user_cache_dir)
    file_name = None
    environment_variable = None
    purpose = None
    schema = ()

    def __init__(self, path=None, enabled=None, busy_timeout=BUSY_TIMEOUT):
        if path is None:
            path = self.default_path()
        if enabled is None:
            enabled = not disabled_by_environment(self.environment_variable)
        #: Whether the database is on by option and environment (even if it has failed).
        self.configured = bool(enabled)
        self.database = StateDB(path, self.schema, self.purpose, busy_timeout)

    @classmethod
    def default_path(cls):
        """Return the database file by default, as the environment says now.

        :rtype: string
        """
        return os.path.abspath(os.path.join(cls.directory(), cls.file_name))

    @classmethod
    def default(cls):
        """Return the database of the user's directory, as the environment says now.

        The same object while the directory and the environment variable stay the same.

        :rtype: LocalDatabase
        """
        configuration = (cls.default_path(), not disabled_by_environment(cls.environment_variable))
        with _defaults_lock:
            current = _defaults.get(cls)
            if current is None or (current.path, current.configured) != configuration:
                if current is not None:
                    current.close()
                current = _defaults[cls] = cls(*configuration)
            return current

    @property
    def path(self):
        """The database file (absolute).

        :rtype: string
        """
        return self.database.path

    @property
    def enabled(self):
        """Whether the database is on and has not failed.

        :rtype: bool
        """
        return self.configured and self.database.enabled

    def close(self):
        """Close the database (the next call opens it again)."""
        self.database.close()


# Class -> its object of LocalDatabase.default().
_defaults = {}
_defaults_lock = threading.Lock()


def _after_fork_in_child():
    for database in list(_open_databases):
        database._drop_after_fork()
    _open_databases.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
