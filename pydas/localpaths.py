"""Safe local names for server-supplied names.

A Midas server lets anybody with write access name a folder, an item or a
bitstream almost anything: ``../../.bashrc``, ``/etc/passwd``, ``C:\\x``,
``NUL``, a name of 10 000 characters, an empty name. Nothing such a name says
may create or overwrite a file outside the directory a download targets.

:func:`safe_name` maps one name to a single harmless path component, and
:func:`unique_names` maps the names of siblings so that no two of them land
on the same local name. Both are deterministic: the same server names always
give the same local names, so a repeated download finds its earlier files.

:func:`temporary_name` names the temporary files of downloads (the one place
that does): a prefix a run finds again to resume a bitstream, and a random
part no concurrent run uses.
"""

import hashlib
import os
import re
import secrets

#: Longest file name, in bytes of UTF-8, that common file systems accept.
MAX_NAME_BYTES = 255

#: Prefix of the temporary files downloads write before renaming them into place.
TEMPORARY_PREFIX = '.pydas-'

TEMPORARY_SUFFIX = '.part'

# Hex digits of the MD5 and of the random part in a temporary name.
_TEMPORARY_MD5_LENGTH = 12
_TEMPORARY_RANDOM_BYTES = 8

_TEMPORARY_NAME = re.compile(r'{0}[0-9]+-[0-9a-f]{{{1}}}\.[0-9a-f]{{{2}}}{3}\Z'.format(
    re.escape(TEMPORARY_PREFIX), _TEMPORARY_MD5_LENGTH, 2 * _TEMPORARY_RANDOM_BYTES,
    re.escape(TEMPORARY_SUFFIX)))

REPLACEMENT = '_'

# Path separators of every platform, ':' (Windows drive paths such as 'C:x' and
# NTFS streams such as 'file:stream'), NUL, the other control characters and
# lone surrogates (no file system can store them).
_UNSAFE_CHARACTERS = re.compile('[\x00-\x1f\x7f/\\\\:\ud800-\udfff]')

_WINDOWS_RESERVED = frozenset(
    ['CON', 'PRN', 'AUX', 'NUL', 'CONIN$', 'CONOUT$']
    + ['COM{0}'.format(number) for number in range(1, 10)]
    + ['LPT{0}'.format(number) for number in range(1, 10)])

# An extension longer than this is treated as part of the name when shortening.
_MAX_EXTENSION_BYTES = 32
_DIGEST_LENGTH = 8


def safe_name(name):
    """Return a name that is one harmless path component.

    Separators, ``:`` and control characters become ``_``; a name made only of
    dots and spaces (``.``, ``..``), an empty name, a Windows reserved device
    name (``CON``, ``nul.txt``, ``COM1``...) and a name that looks like a
    temporary download file are altered; a name over :data:`MAX_NAME_BYTES`
    bytes is shortened, keeping its extension and adding a digest of the whole
    name so that long names sharing a prefix stay distinct. Other names,
    non-ASCII ones included, are returned unchanged.

    :param name: name given by the server
    :type name: string
    :returns: a non-empty name without any path meaning
    :rtype: string
    """
    original = '' if name is None else str(name)
    mapped = _UNSAFE_CHARACTERS.sub(REPLACEMENT, original)
    if not mapped.strip('. '):
        mapped = REPLACEMENT * max(len(mapped), 1)
    if mapped.split('.')[0].rstrip(' ').upper() in _WINDOWS_RESERVED:
        mapped = REPLACEMENT + mapped
    if mapped.startswith(TEMPORARY_PREFIX):
        mapped = REPLACEMENT + mapped
    if len(mapped.encode('utf-8')) > MAX_NAME_BYTES:
        mapped = _shorten(mapped, original)
    return mapped


def unique_names(entries):
    """Map sibling names to safe local names that do not collide.

    Names are compared as the local file system compares them
    (:func:`os.path.normcase`). Entries are considered in the order of their
    sort keys, so the result does not depend on the order the server listed
    them in: the first keeps its safe name, the next ones get `` (1)``,
    `` (2)``... before their extension.

    :param entries: ``(key, server name)`` pairs; keys are unique and sortable
        (e.g. ``('item', '12')``)
    :type entries: list[(tuple, string)]
    :returns: the local name of every key
    :rtype: dict[tuple, string]
    """
    taken = set()
    local_names = {}
    for key, name in sorted(entries, key=lambda entry: (str(entry[1]), entry[0])):
        candidate = safe_name(name)
        number = 0
        while os.path.normcase(candidate) in taken:
            number += 1
            candidate = _numbered(safe_name(name), number)
        taken.add(os.path.normcase(candidate))
        local_names[key] = candidate
    return local_names


def temporary_prefix(bitstream_id, checksum):
    """Return the start of the names of a bitstream's temporary files,
    ``.pydas-<bitstream id>-<MD5 prefix>.``.

    :param bitstream_id: id of the bitstream (digits only)
    :type bitstream_id: int | string
    :param checksum: MD5 hex digest of the bitstream
    :type checksum: string
    :rtype: string
    :raises ValueError: if the id is not a number or the checksum not hexadecimal
    """
    digest = str(checksum).lower()[:_TEMPORARY_MD5_LENGTH]
    if len(digest) != _TEMPORARY_MD5_LENGTH or not re.match('[0-9a-f]+\\Z', digest):
        raise ValueError('not an MD5 checksum: {0!r}'.format(checksum))
    return '{0}{1}-{2}.'.format(TEMPORARY_PREFIX, int(bitstream_id), digest)


def temporary_name(bitstream_id, checksum):
    """Return a new temporary name for a bitstream: its :func:`temporary_prefix`, a random
    part and ``.part``.

    :rtype: string
    """
    return (temporary_prefix(bitstream_id, checksum)
            + secrets.token_hex(_TEMPORARY_RANDOM_BYTES) + TEMPORARY_SUFFIX)


def is_temporary_name(name):
    """Tell whether ``name`` is one :func:`temporary_name` makes (no server name is:
    :func:`safe_name` alters those starting with the prefix).

    :type name: string
    :rtype: bool
    """
    return _TEMPORARY_NAME.match(name) is not None


def child_path(directory, name):
    """Join a local name made by :func:`safe_name` to its directory.

    :param directory: the parent directory
    :type directory: string
    :param name: a safe name
    :type name: string
    :returns: the path of the child
    :rtype: string
    :raises ValueError: if ``name`` is not a single harmless path component
    """
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    if name in ('', '.', '..') or any(separator in name for separator in separators):
        raise ValueError('unsafe local name {0!r}'.format(name))
    return os.path.join(directory, name)


def _numbered(name, number):
    """Return ``name`` with `` (number)`` before its extension, within the length limit."""
    stem, extension = _split_extension(name)
    suffix = ' ({0})'.format(number)
    budget = MAX_NAME_BYTES - len((suffix + extension).encode('utf-8'))
    return _cut_utf8(stem, budget) + suffix + extension


def _shorten(name, original):
    """Return ``name`` cut to :data:`MAX_NAME_BYTES` bytes with a digest of ``original``."""
    stem, extension = _split_extension(name)
    digest = hashlib.sha1(original.encode('utf-8', 'replace')).hexdigest()
    tail = '~' + digest[:_DIGEST_LENGTH] + extension
    return _cut_utf8(stem, MAX_NAME_BYTES - len(tail.encode('utf-8'))) + tail


def _split_extension(name):
    """Split a short extension off ``name`` (a long one stays in the stem)."""
    stem, extension = os.path.splitext(name)
    if not stem or len(extension.encode('utf-8')) > _MAX_EXTENSION_BYTES:
        return name, ''
    return stem, extension


def _cut_utf8(text, max_bytes):
    """Return the longest prefix of ``text`` whose UTF-8 encoding fits ``max_bytes``."""
    encoded = text.encode('utf-8')
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max(max_bytes, 0)].decode('utf-8', 'ignore')
