"""The one retry policy of transfers: what is worth another attempt, and when to stop.

An attempt that got further than the one before (the bytes the server holds,
the bytes received) does not count: a file gives up after ``attempts``
attempts in a row without progress, or after :data:`RETRY_TIME_LIMIT`.
"""

import logging
import time

import requests

from pydas.exceptions import (HTTPError, IncompleteTransfer, InternalError, ParseError,
                              RequestError, UploadFailed)
from pydas.workers import server_pushed_back

logger = logging.getLogger('pydas')

#: Attempts in a row without progress before a file is reported as failed.
DEFAULT_ATTEMPTS = 3

#: Seconds after which a file's transfer is no longer retried, progress or not.
RETRY_TIME_LIMIT = 4 * 3600

#: Pause before the second attempt without progress; it doubles for each further one.
RETRY_PAUSE_FIRST = 0.5

#: The longest pause between two attempts.
RETRY_PAUSE_MAX = 30.0


def is_retryable(error):
    """Tell whether trying a transfer again could succeed.

    :param error: what a transfer raised
    :type error: Exception
    :rtype: bool
    """
    if isinstance(error, (UploadFailed, InternalError)):  # Midas codes, under HTTPError
        return True
    if isinstance(error, HTTPError):
        return error.code is not None and error.code >= 500
    # A ParseError: an answer cut short, or a proxy's error page instead of the server's.
    return isinstance(error, (RequestError, IncompleteTransfer, ParseError,
                              requests.exceptions.RequestException))


def retry_pause(failures):
    """Seconds to wait before the next attempt after ``failures`` attempts in a row
    that made no progress (none after an attempt that got further).

    :type failures: int
    :rtype: float
    """
    if failures < 1:
        return 0.0
    return min(RETRY_PAUSE_MAX, RETRY_PAUSE_FIRST * 2 ** (failures - 1))


def check_attempts(attempts):
    """Refuse an ``attempts`` option below 1.

    :raises TypeError: if it is not an int
    :raises ValueError: if it is below 1
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise TypeError('attempts must be an int, not {0!r}'.format(attempts))
    if attempts < 1:
        raise ValueError('attempts must be at least 1, not {0!r}'.format(attempts))


def retrying(operation, attempts, path, resume=None, position=None, stop=None):
    """Call ``operation()`` until it succeeds, while it fails with retryable errors
    and keeps making progress.

    The one retry policy of transfers. An attempt that got further than the
    attempt before it (``position()``, read after ``resume()``, grew: the bytes
    the server holds, or the bytes received) does not count: the work gives up
    after ``attempts`` attempts in a row without progress, or once
    :data:`RETRY_TIME_LIMIT` seconds have passed since it started. Attempts
    without progress are spaced by :func:`retry_pause`.

    :param operation: the work to do
    :type operation: callable
    :param attempts: attempts in a row without progress before giving up (at least 1)
    :type attempts: int
    :param path: what the work is about, for the log
    :type path: string
    :param resume: (optional) called before each new attempt (e.g. to find out where to
        resume); its own retryable failure counts as an attempt without progress
    :type resume: None | callable
    :param position: (optional) how far the work has got, read before each attempt
    :type position: None | callable
    :param stop: (optional) the transfer's :class:`Stop`, checked between attempts
    :type stop: None | Stop
    :returns: what ``operation`` returns
    :raises Stopped: if the transfer was stopped meanwhile
    """
    deadline = time.monotonic() + RETRY_TIME_LIMIT
    failures = 0
    error = None
    reached = None
    while True:
        try:
            if error is not None and resume is not None:
                resume()
            if position is not None:
                here = position()
                if reached is not None and here > reached:
                    failures = 0
                reached = here if reached is None else max(here, reached)
            if error is not None:
                if failures >= attempts or time.monotonic() > deadline:
                    raise error
                logger.warning('%s: %s; trying again (%d of %d attempts in a row without '
                               'progress)', path, error, failures, attempts)
                if stop is not None:
                    stop.sleep(retry_pause(failures))
            return operation()
        except Exception as exc:
            if exc is error or not is_retryable(exc):
                raise
            server_pushed_back()
            error = exc
            failures += 1


def retried_call(client, operation, attempts, path, stop=None):
    """Call ``operation(token)`` with the client's token, retried by :func:`retrying`:
    for calls that are safe to repeat.

    :param client: the client whose token (renewed once if expired) is passed
    :type client: pydas.session.Client
    :returns: what ``operation`` returns
    """
    return retrying(lambda: client.with_token(operation), attempts, path, stop=stop)
