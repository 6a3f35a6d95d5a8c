"""The user's directories for pydas: settings, cache and state, private to the user.

They follow the XDG base directory specification: ``$XDG_CONFIG_HOME``,
``$XDG_CACHE_HOME`` and ``$XDG_STATE_HOME`` (by default ``~/.config``,
``~/.cache`` and ``~/.local/state``), each with a ``pydas`` directory, created
with mode 0700 (its missing parents too) whatever the umask.
"""

import os

DIR_MODE = 0o700


def _xdg_dir(variable, default):
    # The XDG specification says to ignore a relative path in these variables.
    base = os.environ.get(variable, '')
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser('~'), default)
    return os.path.join(base, 'pydas')


def user_config_dir():
    """Return pydas's directory for settings (it may not exist yet).

    :returns: ``$XDG_CONFIG_HOME/pydas``, by default ``~/.config/pydas``
    :rtype: string
    """
    return _xdg_dir('XDG_CONFIG_HOME', '.config')


def user_cache_dir():
    """Return pydas's directory for data it can rebuild (it may not exist yet).

    :returns: ``$XDG_CACHE_HOME/pydas``, by default ``~/.cache/pydas``
    :rtype: string
    """
    return _xdg_dir('XDG_CACHE_HOME', '.cache')


def user_state_dir():
    """Return pydas's directory for data that outlives a run (it may not exist yet).

    :returns: ``$XDG_STATE_HOME/pydas``, by default ``~/.local/state/pydas``
    :rtype: string
    """
    return _xdg_dir('XDG_STATE_HOME', os.path.join('.local', 'state'))


def make_private_dirs(directory):
    """Create ``directory`` and its missing parents, each with mode 0700 whatever the umask.

    Directories that exist already are left as they are.

    :param directory: absolute path of the directory
    :type directory: string
    :raises OSError: if a directory cannot be created (a parent is a file, no permission)
    """
    missing = []
    while not os.path.lexists(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            continue
        # The umask can only narrow the mode; a narrower one would lock the user out.
        os.chmod(path, DIR_MODE)
