"""Checks of the arguments of pydas's public functions, at the door.

A wrong argument raises :class:`TypeError` (wrong kind of value) or
:class:`ValueError` (right kind, unusable value) naming the function and the
parameter, before any work starts. A value that could be a secret passed in the
wrong place is not quoted.
"""

import os


def _kind(value):
    return type(value).__name__


def require_text(function, name, value, optional=False):
    """Check that ``value`` is a string (or None when ``optional``).

    :raises TypeError: if it is not
    """
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError('{0}: {1} must be a string{2}, not {3}'.format(
            function, name, ' or None' if optional else '', _kind(value)))


def require_nonempty_text(function, name, value):
    """Check that ``value`` is a string that is not empty.

    :raises TypeError: if it is not a string
    :raises ValueError: if it is empty
    """
    require_text(function, name, value)
    if not value:
        raise ValueError('{0}: {1} is empty'.format(function, name))


def require_path(function, name, value):
    """Check that ``value`` is a local path (a string or an :class:`os.PathLike`).

    :raises TypeError: if it is not
    """
    if not isinstance(value, (str, os.PathLike)) or not isinstance(os.fspath(value), str):
        raise TypeError('{0}: {1} must be a path (str or os.PathLike), not {2}'.format(
            function, name, _kind(value)))


def require_directory_path(function, name, value):
    """Check that ``value`` is a local path where a directory is or can be created.

    :raises TypeError: if it is not a path
    :raises ValueError: if it is empty, or something other than a directory is there
    """
    require_path(function, name, value)
    path = os.fspath(value)
    if not path:
        raise ValueError('{0}: {1} is empty (use \'.\' for the current directory)'.format(
            function, name))
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ValueError('{0}: {1} {2} exists and is not a directory'.format(
            function, name, path))


def require_positive_int(function, name, value):
    """Check that ``value`` is an int of at least 1 (a bool is not a count).

    :raises TypeError: if it is not an int
    :raises ValueError: if it is below 1
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError('{0}: {1} must be an int, not {2}'.format(function, name, _kind(value)))
    if value < 1:
        raise ValueError('{0}: {1} must be at least 1, not {2}'.format(function, name, value))


def require_callable(function, name, value):
    """Check that ``value`` is callable or None.

    :raises TypeError: if it is not
    """
    if value is not None and not callable(value):
        raise TypeError('{0}: {1} must be callable or None, not {2}'.format(
            function, name, _kind(value)))


def require_id(function, name, value):
    """Check that ``value`` is a Midas id: an int, or a string of digits.

    :raises TypeError: if it is neither
    :raises ValueError: if it is a string of something else
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError('{0}: {1} must be an id (int or string of digits), not {2}'.format(
            function, name, _kind(value)))
    if isinstance(value, str) and not value.strip().lstrip('-').isdigit():
        raise ValueError('{0}: {1} must be an id (digits)'.format(function, name))


def require_url(function, name, value, optional=False):
    """Check that ``value`` is an ``http://`` or ``https://`` URL (or None when ``optional``).

    :raises TypeError: if it is not a string
    :raises ValueError: if it does not start with ``http://`` or ``https://``
    """
    require_text(function, name, value, optional)
    if value is not None and not value.lower().startswith(('http://', 'https://')):
        raise ValueError('{0}: {1} must start with http:// or https://, not {2!r}'.format(
            function, name, value[:60]))


def require_transfer_options(function, options):
    """Check the ``jobs``, ``attempts`` and ``progress`` options of a transfer."""
    for name in ('jobs', 'attempts'):
        if name in options:
            require_positive_int(function, name, options[name])
    require_callable(function, 'progress', options.get('progress'))
