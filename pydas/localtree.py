"""The local side of an upload: the files and directories a path or pattern names, as nodes.

:func:`expand` turns the argument of an upload into local paths: an existing
path is taken as it is, even with glob characters in its name (``scan[1].raw``);
anything else is a glob pattern, which must match something. :func:`scan` walks
each path into :class:`LocalItem` and :class:`LocalFolder` nodes, without
recursion (a tree of any depth is walked). What cannot be uploaded is recorded
in the upload's :class:`pydas.transfer.TransferResult` and the walk goes on:
symbolic links and names that are not valid UTF-8 (the server stores UTF-8) are
skipped; an entry that cannot be examined, or a directory that cannot be
listed (with everything below it), fails.
"""

import glob
import logging
import os
import stat

from pydas.exceptions import LocalPathNotFound
from pydas.transfer import Failure, Skipped

logger = logging.getLogger('pydas')


class _LocalNode(object):
    """A local path and the name it gets on the server (``.`` gets its directory's name)."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(os.path.abspath(path))


class LocalFile(_LocalNode):
    """A regular file to upload as a bitstream."""

    def __init__(self, path, size):
        super(LocalFile, self).__init__(path)
        self.size = size


class LocalItem(_LocalNode):
    """Files to upload as the bitstreams of one item: one file, or a leaf folder's files."""

    def __init__(self, path, files, is_file):
        super(LocalItem, self).__init__(path)
        self.files = files
        self.is_file = is_file


class LocalFolder(_LocalNode):
    """A directory to upload as a folder."""

    def __init__(self, path, children):
        super(LocalFolder, self).__init__(path)
        self.children = children

    def files(self):
        """Return every file below this folder."""
        found, pending = [], [self]
        while pending:  # depth first, in order, without recursion
            node = pending.pop()
            if isinstance(node, LocalFolder):
                pending.extend(reversed(node.children))
            else:
                found.extend(node.files)
        return found


def expand(file_pattern):
    """Return the local paths an upload's ``file_pattern`` names, sorted.

    :param file_pattern: an existing path (taken literally), or a glob pattern
    :type file_pattern: string | os.PathLike
    :rtype: list[string]
    :raises pydas.exceptions.LocalPathNotFound: if nothing exists at that path and
        nothing matches it as a pattern
    """
    path = os.fspath(file_pattern)
    if os.path.lexists(path):
        return [path]
    matches = sorted(glob.glob(path)) if path and glob.escape(path) != path else []
    if not matches:
        raise LocalPathNotFound('{0!r}: no such file or directory, and no file matches it '
                                'as a pattern'.format(path))
    return matches


def scan(path, leaf_folders_as_items, result):
    """Return the node of ``path``, or None if it is left out (recorded in ``result``).

    :param path: an existing local path
    :type path: string
    :param leaf_folders_as_items: a directory holding only files becomes one item
    :type leaf_folders_as_items: bool
    :param result: where skipped and failed paths are recorded
    :type result: pydas.transfer.TransferResult
    :rtype: None | LocalItem | LocalFolder
    """
    root = _entry(os.path.normpath(path), result)
    if not isinstance(root, _Directory):
        return root
    stack = [root]
    while True:
        directory = stack[-1]
        child = next(directory.entries, None)
        if child is None:
            stack.pop()
            node = directory.node(leaf_folders_as_items)
            if not stack:
                return node
            stack[-1].children.append(node)
            continue
        entry = _entry(os.path.join(directory.path, child), result)
        if isinstance(entry, _Directory):
            stack.append(entry)
        elif entry is not None:
            directory.children.append(entry)


class _Directory(object):
    """A directory being walked: its remaining entry names and the nodes found so far."""

    def __init__(self, path, names):
        self.path = path
        self.entries = iter(names)
        self.children = []

    def node(self, leaf_folders_as_items):
        is_leaf = self.children and all(getattr(child, 'is_file', False)
                                        for child in self.children)
        if leaf_folders_as_items and is_leaf:
            return LocalItem(self.path, [child.files[0] for child in self.children],
                             is_file=False)
        return LocalFolder(self.path, self.children)


def _entry(path, result):
    """The node of a file, a :class:`_Directory` to walk, or None (recorded in ``result``)."""
    name = os.path.basename(os.path.abspath(path))
    try:
        name.encode('utf-8')
    except UnicodeEncodeError:
        return _skip(result, path, 'the name {0} is not valid UTF-8, which the server '
                                   'stores'.format(_printable(name)))
    try:
        status = os.lstat(path)
        if stat.S_ISLNK(status.st_mode):
            return _skip(result, path, 'symbolic link')
        if stat.S_ISREG(status.st_mode):
            return LocalItem(path, [LocalFile(path, status.st_size)], is_file=True)
        if not stat.S_ISDIR(status.st_mode):
            return _skip(result, path, 'not a regular file or directory')
        return _Directory(path, sorted(os.listdir(path)))
    except OSError as error:  # this path (and what is below it) fails; the others go on
        logger.error('%s failed: %s', _printable(path), error)
        result.failed.append(Failure(path, error))
        return None


def _skip(result, path, reason):
    logger.warning('skipping %s: %s', _printable(path), reason)
    result.skipped.append(Skipped(path, reason))
    return None


def _printable(path):
    """``path`` for a log line: bytes that are not UTF-8 escaped, as any handler can write."""
    return path.encode('utf-8', 'backslashreplace').decode('utf-8')
