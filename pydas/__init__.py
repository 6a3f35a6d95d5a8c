"""pydas: Python client library for the Midas Server 3 JSON web API.

The high-level functions work on one default session (:mod:`pydas.session`);
:class:`pydas.core.Communicator` gives every web API method as a call.
"""

from pydas.api import (add_folder_download_callback, add_item_download_callback,
                       add_item_upload_callback, allow_existing_download_paths, download,
                       download_folder_recursive, login, renew_token, upload,
                       verify_credentials)
from pydas.core import Communicator
from pydas.exceptions import PydasException
from pydas.session import Client
from pydas.transport import Retry, Timeout

__version__ = '1.0.0'

__all__ = [
    'Client', 'Communicator', 'PydasException', 'Retry', 'Timeout',
    'add_folder_download_callback', 'add_item_download_callback', 'add_item_upload_callback',
    'allow_existing_download_paths', 'download', 'download_folder_recursive', 'login',
    'renew_token', 'upload', 'verify_credentials',
]
