"""Temporary files of downloads: created exclusively, locked while written, renamed into place.

A download writes each bitstream into a temporary file in its target
directory (named by :func:`pydas.localpaths.temporary_name`) and renames it
to its final name once its size and MD5 are right. Several runs may download
into one directory at once (two pipeline steps, a re-run while the first
still goes), and the directory may hold anything, symbolic links included:

* a new temporary file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW``
  (never through a link, never an existing file), for its owner only;
* a run holds an exclusive :func:`fcntl.flock` on each temporary file it
  writes, until the file is renamed or abandoned; a partial file an earlier
  run left is resumed only if it is a regular file of this user, with no
  other link, that this run could lock (no live run holds it);
* every step works relative to one open descriptor of the directory, and
  the final rename replaces at most a regular file: a directory or a
  symbolic link at the final name makes the file fail.

Our temporary files older than :data:`STALE_AGE` that nobody holds are
removed the first time a download opens their directory.
"""

import contextlib
import errno
import fcntl
import io
import os
import stat
import threading
import time

from pydas.checksums import stream_md5_state
from pydas.localpaths import is_temporary_name, temporary_name, temporary_prefix

#: Seconds after which a temporary file nobody holds is removed.
STALE_AGE = 7 * 24 * 3600

# New random names tried before giving up (a collision is all but impossible).
_CREATE_TRIES = 16

_OPEN_EXISTING = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE_NEW = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Partial(object):
    """A temporary file this run holds locked.

    :ivar name: its name in its directory
    :ivar path: its path
    :ivar fd: its descriptor (the lock goes with it)
    """

    def __init__(self, directory, name, fd):
        self._directory = directory
        self.name = name
        self.path = os.path.join(directory.path, name)
        self.fd = fd

    @property
    def size(self):
        """Bytes the file holds."""
        return os.fstat(self.fd).st_size

    def md5_state(self):
        """Return the MD5 state and size of what the file holds.

        :rtype: (hashlib.md5, int)
        """
        with io.FileIO(self.fd, 'rb', closefd=False) as stream:
            stream.seek(0)
            return stream_md5_state(stream)

    def write_at(self, data, offset):
        """Write ``data`` at ``offset``, then read it back into ``data``: what the caller
        hashes next is what the file holds.

        A write error (a full disk, a quota, a read-only file system) is not one a
        resume can fix: the file is removed, so that it frees its space, and the
        error says so.

        :type data: memoryview
        :type offset: int
        :raises OSError: if writing fails
        """
        try:
            done = 0
            while done < len(data):
                done += os.pwrite(self.fd, data[done:], offset + done)
            done = 0
            while done < len(data):
                count = os.preadv(self.fd, [data[done:]], offset + done)
                if not count:
                    raise OSError(errno.EIO, 'the file ended before what was written to it')
                done += count
        except OSError as error:
            self.remove()
            raise OSError(error.errno, '{0}; the partial download was removed'.format(
                error.strerror or error), self.path) from error

    def truncate(self):
        """Empty the file (its content proved wrong)."""
        os.ftruncate(self.fd, 0)

    def remove(self):
        """Remove the file (still holding its lock, so nobody takes it meanwhile)."""
        with contextlib.suppress(FileNotFoundError):
            self._directory.unlink(self.name)

    def close(self):
        """Release the file and its lock (idempotent)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class TargetDirectory(object):
    """An open directory a download writes into; use it as a context manager.

    :param path: the directory
    :type path: string

    :ivar leftovers: names of our temporary files found in it, which a download may
        resume (a :class:`Leftovers` shared by the threads of one download, see
        :class:`Targets`); None until set
    """

    def __init__(self, path):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.leftovers = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the directory (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def holds(self, name, size, checksum):
        """Tell whether ``name`` is a regular file (not a link) with this size and MD5.

        :rtype: bool
        """
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=self._fd)
        except OSError:
            return False
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_size != size:
            os.close(fd)
            return False
        with io.FileIO(fd, 'rb') as stream:
            return stream_md5_state(stream)[0].hexdigest() == checksum

    def scan(self, now=None):
        """Remove our stale temporary files; return the names of the others.

        :param now: (optional) the current time, as :func:`time.time`
        :rtype: list[string]
        """
        now = time.time() if now is None else now
        found = []
        with os.scandir(self._fd) as entries:
            for entry in entries:
                if not is_temporary_name(entry.name):
                    continue
                try:
                    status = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(status.st_mode) or status.st_uid != os.getuid():
                    continue
                if now - status.st_mtime > STALE_AGE:
                    self._remove_if_free(entry.name)
                else:
                    found.append(entry.name)
        return found

    def claim(self, bitstream_id, checksum):
        """Return the locked temporary file to download a bitstream into: the fullest one an
        earlier run left that nobody holds, or else a new, empty one.

        :rtype: Partial
        """
        prefix = temporary_prefix(bitstream_id, checksum)
        for name in self._candidates(prefix):
            fd = self._lock_ours(name)
            if fd is not None:
                self.leftovers.forget(name)
                return Partial(self, name, fd)
        for _ in range(_CREATE_TRIES):
            name = temporary_name(bitstream_id, checksum)
            try:
                fd = os.open(name, _CREATE_NEW, 0o600, dir_fd=self._fd)
            except FileExistsError:
                continue
            # Between creating and locking, another run may have taken the file (it is
            # theirs now), or even finished with it.
            if _try_lock(fd) and self._is_open_as(name, fd):
                return Partial(self, name, fd)
            os.close(fd)
        raise FileExistsError(errno.EEXIST, 'no free temporary name', self.path)

    def install(self, partial, name):
        """Rename ``partial`` to ``name``, replacing at most a regular file.

        :raises IsADirectoryError: if a directory has that name
        :raises FileExistsError: if a symbolic link or another non-regular file has it
        """
        path = os.path.join(self.path, name)
        try:
            status = os.stat(name, dir_fd=self._fd, follow_symlinks=False)
        except FileNotFoundError:
            status = None
        if status is not None and stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, 'a directory is in the way of the '
                                    'downloaded file; not replacing it', path)
        if status is not None and stat.S_ISLNK(status.st_mode):
            raise FileExistsError(errno.EEXIST, 'a symbolic link is in the way of the '
                                  'downloaded file; not replacing it', path)
        if status is not None and not stat.S_ISREG(status.st_mode):
            raise FileExistsError(errno.EEXIST, 'a special file is in the way of the '
                                  'downloaded file; not replacing it', path)
        if not self._is_open_as(partial.name, partial.fd):
            raise FileNotFoundError(errno.ENOENT, 'the temporary file was moved away',
                                    partial.path)
        os.replace(partial.name, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)

    def discard(self, bitstream_id, checksum):
        """Remove the temporary files of a bitstream that earlier runs left and nobody holds."""
        for name in self._candidates(temporary_prefix(bitstream_id, checksum)):
            self._remove_if_free(name)
            self.leftovers.forget(name)

    def unlink(self, name):
        """Remove ``name`` from the directory."""
        os.unlink(name, dir_fd=self._fd)

    def _candidates(self, prefix):
        """Our temporary files of ``prefix`` found here, the fullest first."""
        if self.leftovers is None:
            return []
        sizes = {}
        for name in self.leftovers.starting_with(prefix):
            with contextlib.suppress(OSError):
                sizes[name] = os.stat(name, dir_fd=self._fd, follow_symlinks=False).st_size
        return sorted(sizes, key=lambda name: (-sizes[name], name))

    def _lock_ours(self, name):
        """Open and lock our temporary file ``name``: its descriptor, or None if it is not a
        regular file of ours with one link, a live run holds it, or it is gone."""
        try:
            fd = os.open(name, _OPEN_EXISTING, dir_fd=self._fd)
        except OSError:  # gone, a symbolic link (ELOOP), not ours (EACCES)...
            return None
        try:
            status = os.fstat(fd)
            if (stat.S_ISREG(status.st_mode) and status.st_uid == os.getuid()
                    and status.st_nlink == 1 and _try_lock(fd)
                    # Still under that name: not renamed into place by the run that held it.
                    and self._is_open_as(name, fd)):
                return fd
        except OSError:
            pass
        os.close(fd)
        return None

    def _remove_if_free(self, name):
        fd = self._lock_ours(name)
        if fd is not None:
            try:
                self.unlink(name)
            except FileNotFoundError:
                pass
            finally:
                os.close(fd)

    def _is_open_as(self, name, fd):
        """Tell whether ``name`` is the file open as ``fd``."""
        try:
            named = os.stat(name, dir_fd=self._fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        opened = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


class Leftovers(object):
    """Names of our temporary files found in one directory, shared by threads."""

    def __init__(self, names):
        self._lock = threading.Lock()
        self._names = set(names)

    def starting_with(self, prefix):
        """The names that start with ``prefix``."""
        with self._lock:
            return [name for name in self._names if name.startswith(prefix)]

    def forget(self, name):
        """Drop ``name`` (taken or removed)."""
        with self._lock:
            self._names.discard(name)


class Targets(object):
    """The directories one download writes into, each scanned once for our temporary
    files (see :meth:`TargetDirectory.scan`)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._leftovers = {}

    def open(self, path):
        """Open the directory ``path``.

        :rtype: TargetDirectory
        """
        directory = TargetDirectory(path)
        try:
            with self._lock:
                leftovers = self._leftovers.get(path)
                if leftovers is None:
                    leftovers = self._leftovers[path] = Leftovers(directory.scan())
        except BaseException:
            directory.close()
            raise
        directory.leftovers = leftovers
        return directory


def _try_lock(fd):
    """Take the exclusive lock of ``fd`` if nobody holds it; tell whether it was taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
