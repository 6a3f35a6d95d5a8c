"""The high-level functions of pydas: log in, upload, download.

They work on :data:`pydas.session.default_client`, whose state old scripts
read as ``pydas.session.token``, ``pydas.session.communicator``... To talk to
several servers, or from several threads, create :class:`pydas.session.Client`
objects instead: they have the same methods.
"""

from pydas import session


def login(email=None, password=None, api_key=None, application='Default', url=None,
          verify_ssl_certificate=True, **options):
    """Log in to a Midas server, asking on the terminal for whatever is missing.

    The server URL and the e-mail address are asked for if not given; without
    an API key, the password is asked for (without echo) and the user's
    default API key is fetched with it. A user with a second factor is asked
    for a one-time password.

    :param email: (optional) e-mail address of the user
    :type email: None | string
    :param password: (optional) password of the user
    :type password: None | string
    :param api_key: (optional) API key of the user
    :type api_key: None | string
    :param application: (optional) application name of ``api_key``
    :type application: string
    :param url: (optional) URL of the server
    :type url: None | string
    :param verify_ssl_certificate: (optional) ``False`` skips the check of the server's
        TLS certificate (a warning is logged once per server), the path of a CA bundle
        checks it against that bundle; the default keeps what the session's client or
        communicator was set to (which checks it unless told otherwise)
    :type verify_ssl_certificate: bool | string
    :param token: (optional, keyword) a token obtained already: no login call is made
    :type token: None | string
    :returns: the API token
    :rtype: string
    :raises pydas.exceptions.PydasException: if the server refuses the credentials
    """
    return session.default_client.login(email, password, api_key, application, url,
                                        verify_ssl_certificate, **options)


def renew_token():
    """Get a new token with the session's API key (and a one-time password if needed).

    :returns: the API token
    :rtype: string
    """
    return session.default_client.renew_token()


def verify_credentials():
    """Return the session's token, logging in first (with prompts) if there is none.

    :returns: the API token
    :rtype: string
    """
    return session.default_client.verify_credentials()


def upload(file_pattern, destination='Private', leaf_folders_as_items=False,
           reuse_existing=False, **options):
    """Upload a local file or directory, or the ones matching a glob pattern.

    An existing path is taken as it is (``scan[1].raw`` is that file); anything
    else is a glob pattern. A file becomes an item of the same name holding one
    bitstream; a directory becomes a folder, recursively (at any depth); with
    ``leaf_folders_as_items`` a directory holding only files becomes one item with
    one bitstream per file. Symbolic links and names that are not valid UTF-8 are
    skipped (logged, and listed in the result's ``skipped``); a file or directory
    that cannot be read fails (in the result's ``failed``) and the others go on.
    Content the server already holds (same MD5) is not sent again.

    :param file_pattern: path, or glob pattern, of the local files and directories
    :type file_pattern: string | os.PathLike
    :param destination: (optional) one of the user's top folders (``Private``,
        ``Public``...) or the server path of a folder (``/users/<First>_<Last>/...``,
        ``/communities/<Name>/...``)
    :type destination: string
    :param leaf_folders_as_items: (optional) upload a directory holding only files as one item
    :type leaf_folders_as_items: bool
    :param reuse_existing: (optional) reuse folders and items of the same name
        instead of creating new ones
    :type reuse_existing: bool
    :param jobs: (optional, keyword) files sent at once at most (default 32; it starts
        with 4 and takes more while the server keeps up, see :class:`pydas.workers.Pace`)
    :type jobs: int
    :param progress: (optional, keyword) called with a :class:`pydas.transfer.Progress`
    :type progress: callable
    :param attempts: (optional, keyword) tries per file (default 3)
    :type attempts: int
    :returns: what was uploaded, skipped or found on the server already
    :rtype: pydas.transfer.TransferResult
    :raises pydas.exceptions.LocalPathNotFound: (a ``FileNotFoundError``) if nothing
        exists at ``file_pattern`` and nothing matches it
    :raises pydas.exceptions.ServerPathNotFound: if the destination does not exist
    :raises pydas.exceptions.TransferError: if some files failed (the others are uploaded)
    :raises TypeError: if an argument is of the wrong type (the message names it)
    :raises ValueError: if an argument's value cannot be used (the message names it)
    """
    return session.default_client.upload(file_pattern, destination, leaf_folders_as_items,
                                         reuse_existing, **options)


def download(server_path, local_path='.', **options):
    """Download the folder or item a server path names.

    A folder becomes a directory tree; an item becomes a file, or a directory
    of its files when its revision holds several (or one named unlike the
    item). Each file is checked against the server's size and MD5 and renamed
    into place only then; a local file that already matches is left alone.

    :param server_path: ``/users/<First>_<Last>/...`` or ``/communities/<Name>/...``
    :type server_path: string
    :param local_path: (optional) directory to download into
    :type local_path: string
    :param jobs: (optional, keyword) files received at once at most (default 32; it starts
        with 4 and takes more while the server keeps up, see :class:`pydas.workers.Pace`)
    :type jobs: int
    :param progress: (optional, keyword) called with a :class:`pydas.transfer.Progress`
    :type progress: callable
    :param attempts: (optional, keyword) tries per file (default 3)
    :type attempts: int
    :returns: what was downloaded, skipped or found in place already
    :rtype: pydas.transfer.TransferResult
    :raises pydas.exceptions.ServerPathNotFound: if nothing has that path
    :raises pydas.exceptions.TransferError: if some files failed (the others are downloaded)
    :raises TypeError: if an argument is of the wrong type (the message names it)
    :raises ValueError: if an argument's value cannot be used, e.g. ``local_path`` is a file
    """
    return session.default_client.download(server_path, local_path, **options)


def download_folder_recursive(folder_id, path='.', **options):
    """Download a folder, given by id, as a directory inside ``path``.

    :param folder_id: id of the folder
    :type folder_id: int | string
    :param path: (optional) directory to download into
    :type path: string
    :returns: what was downloaded
    :rtype: pydas.transfer.TransferResult
    :raises pydas.exceptions.TransferError: if some files failed (the others are downloaded)
    """
    return session.default_client.download_folder_recursive(folder_id, path, **options)


def add_item_upload_callback(callback):
    """Call ``callback(communicator, token, item_id)`` after each uploaded item.

    :param callback: the function to call
    :type callback: callable
    """
    session.default_client.add_item_upload_callback(callback)


def add_item_download_callback(callback):
    """Call ``callback(communicator, token, item, local_path)`` after each downloaded item.

    :param callback: the function to call; ``item`` is the item's dict
    :type callback: callable
    """
    session.default_client.add_item_download_callback(callback)


def add_folder_download_callback(callback):
    """Call ``callback(communicator, token, folder, local_path)`` after each downloaded folder.

    :param callback: the function to call; ``folder`` is the folder's dict
    :type callback: callable
    """
    session.default_client.add_folder_download_callback(callback)


def allow_existing_download_paths():
    """Let downloads write into folders' directories that exist already."""
    session.default_client.allow_existing_download_paths = True
