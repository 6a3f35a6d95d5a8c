"""Exceptions raised by pydas.

The tree of the original pydas, with its extra bases (catch the most specific
class you can act on)::

    PydasException
     +-- RequestError (also requests.exceptions.ConnectionError)
     |    +-- SSLVerificationFailed (also requests.exceptions.SSLError)
     +-- ResponseError
     |    +-- ParseError (also ValueError)
     |    +-- HTTPError (also requests.exceptions.HTTPError)
     |         +-- BadRequest ................... HTTP 400
     |         |    +-- InternalError ........... Midas code -100
     |         |    +-- InvalidParameter ........ Midas code -150 (also ValueError)
     |         |    +-- InvalidPolicy ........... Midas code -151 (also ValueError)
     |         |    +-- UploadFailed ............ Midas code -105
     |         |    +-- UploadTokenGenerationFailed ... Midas code -140
     |         +-- Unauthorized ................. HTTP 401
     |         |    +-- InvalidToken ............ Midas code -101 (also ValueError;
     |         |    |                             also "method does not exist")
     |         |    +-- InvalidUploadToken ...... Midas code -141 (also ValueError)
     |         +-- Forbidden .................... HTTP 403
     |         +-- NotFound ..................... HTTP 404
     |         +-- MethodNotAllowed ............. HTTP 405
     +-- ServerPathNotFound (also LookupError)
     +-- LocalPathNotFound (also FileNotFoundError)
     +-- TransferError ...................... some files of a transfer failed
     +-- TokenRenewalFailed
     +-- IncompleteTransfer
     +-- LocalFileChanged
    TransferInterrupted (a KeyboardInterrupt) .. Ctrl-C stopped a transfer

:class:`RequestError` means the server could not be reached or the connection
broke (nothing usable came back); :class:`ResponseError` means the server
answered, with an error. Every exception carries ``method`` (the Midas API
method, e.g. ``'midas.item.get'``), ``code`` (the Midas error code as an int,
or the HTTP status for an :class:`HTTPError` without an envelope, else None),
``request`` and ``response`` (redacted copies of the ``requests`` objects, when
there are any). Neither an exception's message, nor these copies, nor the
exceptions it was raised from hold a password, API key or token
(:mod:`pydas.redaction`).
"""

import sys

import requests

from pydas import redaction

__all__ = [
    'PydasException', 'RequestError', 'SSLVerificationFailed', 'ResponseError', 'ParseError',
    'HTTPError', 'BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'MethodNotAllowed',
    'InternalError', 'InvalidToken', 'UploadFailed', 'UploadTokenGenerationFailed',
    'InvalidUploadToken', 'InvalidParameter', 'InvalidPolicy', 'ServerPathNotFound',
    'LocalPathNotFound', 'TransferError', 'TokenRenewalFailed', 'IncompleteTransfer',
    'LocalFileChanged', 'TransferInterrupted', 'exception_class',
]


class PydasException(Exception):
    """Base class of every exception raised by pydas.

    :param message: what went wrong, for a person (no secrets)
    :type message: string
    :param method: (optional) the Midas API method that was called
    :type method: None | string
    :param code: (optional) the Midas error code, or the HTTP status
    :type code: None | int
    :param request: (optional) the request that was sent (kept as a redacted copy)
    :type request: None | requests.PreparedRequest
    :param response: (optional) the response that was received (kept as a redacted copy,
        with its body if it had been read)
    :type response: None | requests.Response
    """

    def __init__(self, message, method=None, code=None, request=None, response=None):
        super(PydasException, self).__init__(message)
        self.message = message
        self.value = message  # the original pydas attribute name
        self.method = method
        self.code = code
        if request is None and response is not None:
            request = response.request
        self.request = redaction.redacted_request(request)
        self.response = redaction.redacted_response(response)
        # Raised while handling another exception, this one will chain it: the
        # interpreter prints both.
        redaction.scrub_chain(sys.exc_info()[1])

    def __str__(self):
        return self.message


class RequestError(PydasException, requests.exceptions.ConnectionError):
    """The request could not be sent or no complete answer came back."""


class SSLVerificationFailed(RequestError, requests.exceptions.SSLError):
    """The server's TLS certificate could not be verified."""


class ResponseError(PydasException):
    """The server answered with an error."""


class ParseError(ResponseError, ValueError):
    """The server's answer is not the JSON envelope of the web API."""


class HTTPError(ResponseError, requests.exceptions.HTTPError):
    """The server answered with an HTTP error status."""


class BadRequest(HTTPError):
    """HTTP 400."""


class Unauthorized(HTTPError):
    """HTTP 401."""


class Forbidden(HTTPError):
    """HTTP 403."""


class NotFound(HTTPError):
    """HTTP 404."""


class MethodNotAllowed(HTTPError):
    """HTTP 405."""


class InternalError(BadRequest):
    """Midas code -100: the server failed internally."""


class InvalidToken(Unauthorized, ValueError):
    """Midas code -101: unknown or expired token, or a method the server does not have."""


class UploadFailed(BadRequest):
    """Midas code -105: the server received fewer bytes than announced."""


class UploadTokenGenerationFailed(BadRequest):
    """Midas code -140: the server could not create an upload token."""


class InvalidUploadToken(Unauthorized, ValueError):
    """Midas code -141: unknown or already used upload token."""


class InvalidParameter(BadRequest, ValueError):
    """Midas code -150: a parameter is missing or invalid."""


class InvalidPolicy(BadRequest, ValueError):
    """Midas code -151: permission denied, or the object does not exist."""


class ServerPathNotFound(PydasException, LookupError):
    """A server path or upload destination names nothing the user can see."""


class LocalPathNotFound(PydasException, FileNotFoundError):
    """A local path or pattern given to an upload names no file or directory."""


class TransferError(PydasException):
    """Some files of a transfer failed; the others were transferred.

    :ivar failures: every :class:`pydas.transfer.Failure`, in the order they happened
    :ivar result: the :class:`pydas.transfer.TransferResult` of the whole transfer
    """

    def __init__(self, result):
        lines = ['{0} of the files failed:'.format(len(result.failed))]
        lines.extend('  {0}'.format(failure) for failure in result.failed)
        super(TransferError, self).__init__('\n'.join(lines))
        self.failures = list(result.failed)
        self.result = result


class TokenRenewalFailed(PydasException):
    """The token expired and the server refused to renew it: stops a whole transfer."""


class IncompleteTransfer(PydasException):
    """A transfer ended early or its bytes do not match the server's checksum."""


class LocalFileChanged(PydasException):
    """A local file changed (size, time stamps or content) while it was being sent."""


class TransferInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a transfer; what was done until then is kept (partial
    downloads stay for a resume) and described by ``result``.

    It is a KeyboardInterrupt, so that code not expecting it stops as on any Ctrl-C.

    :ivar result: the :class:`pydas.transfer.TransferResult` until the interruption
    """

    def __init__(self, result):
        super(TransferInterrupted, self).__init__('transfer interrupted')
        self.result = result


_BY_HTTP_STATUS = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
}

_BY_MIDAS_CODE = {
    -100: InternalError,
    -101: InvalidToken,
    -105: UploadFailed,
    -140: UploadTokenGenerationFailed,
    -141: InvalidUploadToken,
    -150: InvalidParameter,
    -151: InvalidPolicy,
}


def exception_class(status=200, code=None):
    """Return the exception class for an HTTP status and a Midas error code.

    An HTTP error status wins over the envelope's code (Midas answers every
    envelope with 200); codes without a class of their own (``0``, ``-1``,
    the tracker's ``403``...) give a plain :class:`ResponseError`.

    :param status: HTTP status of the response
    :type status: int
    :param code: Midas error code of the envelope, if any
    :type code: None | int
    :rtype: type
    """
    if status is not None and status >= 400:
        return _BY_HTTP_STATUS.get(status, HTTPError)
    return _BY_MIDAS_CODE.get(code, ResponseError)
