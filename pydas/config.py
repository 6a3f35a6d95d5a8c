"""The per-user settings file of the ``pydas`` command.

The file ``$XDG_CONFIG_HOME/pydas/config.json`` (``~/.config/pydas/config.json``
by default) remembers the server URL, the e-mail address and the API key of
the last ``pydas login``. It never holds a password or a token. It is readable
by its owner only: the file is created with mode 0600 (never wider, not even
for an instant) and its directory, and any missing parent, with mode 0700.
"""

import json
import os
import tempfile

from pydas import userdirs

#: The settings a config file may hold, in the order they are written.
KEYS = ('url', 'email', 'api_key')

FILE_MODE = 0o600


def config_path():
    """Return the path of the settings file, honouring ``XDG_CONFIG_HOME``.

    :returns: absolute path of ``pydas/config.json`` in the user's config directory
    :rtype: string
    """
    return os.path.join(userdirs.user_config_dir(), 'config.json')


def load():
    """Return the remembered settings, or an empty dict when there are none.

    :returns: some of the keys ``url``, ``email`` and ``api_key``
    :rtype: dict[string, string]
    :raises ValueError: if the file exists but is not a JSON object
    """
    path = config_path()
    try:
        with open(path, encoding='utf-8') as config_file:
            settings = json.load(config_file)
    except FileNotFoundError:
        return {}
    if not isinstance(settings, dict):
        raise ValueError('{0} is not a pydas settings file'.format(path))
    return {key: settings[key] for key in KEYS if settings.get(key)}


def save(settings):
    """Replace the settings file atomically with ``settings``.

    The new content is written to a temporary file created with mode 0600 in
    the same directory, then renamed over the old file, so a reader sees either
    the old or the new settings and the file is never readable by others.

    :param settings: values for some of :data:`KEYS`; other keys are ignored
    :type settings: dict[string, string]
    :returns: the path written
    :rtype: string
    """
    path = config_path()
    directory = os.path.dirname(path)
    userdirs.make_private_dirs(directory)
    os.chmod(directory, userdirs.DIR_MODE)  # an existing one may be wider
    content = {key: settings[key] for key in KEYS if settings.get(key)}
    # mkstemp creates the file with O_EXCL and mode 0600.
    descriptor, temporary = tempfile.mkstemp(prefix='.config-', dir=directory)
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8') as config_file:
            json.dump(content, config_file, indent=2)
            config_file.write('\n')
            config_file.flush()
            os.fsync(config_file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def forget():
    """Delete the settings file.

    :returns: True if there was a file to delete
    :rtype: bool
    """
    try:
        os.unlink(config_path())
    except FileNotFoundError:
        return False
    return True
