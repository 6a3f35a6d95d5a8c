"""Keeping secrets (password, API key, tokens...) out of logs and exceptions.

Secret values are recognised by the name they travel under: a query or form
parameter (``...&authToken=<value>``), a JSON field (``"token": "<value>"``)
or an HTTP credentials header. :func:`redact_text` also removes values known to
be secret wherever they appear. Every :class:`pydas.exceptions.PydasException`
keeps redacted copies of its request and response (:func:`redacted_request`,
:func:`redacted_response`) and scrubs the exception it was raised from, with
that exception's own causes (:func:`scrub_chain`), so that neither its
message, nor its attributes, nor the traceback the interpreter prints for it
hold a secret.
"""

import re

import requests
from requests.structures import CaseInsensitiveDict

REDACTED = '<redacted>'
SECRET_PARAMETERS = frozenset([
    'password', 'apikey', 'api_key', 'token', 'uploadtoken', 'upload_token', 'authtoken',
    'otp', 'one_time_pass', 'mfatokenid', 'mfa_token_id', 'temp_token',
])
# Headers that carry credentials (HTTP authentication of a proxy or a server, cookies).
SECRET_HEADERS = frozenset(['authorization', 'proxy-authorization', 'cookie', 'set-cookie'])
# Shorter secret values (the MFA temporary id is a small number) are not searched in free text.
_MIN_SECRET_LENGTH = 6

_NAMES = '|'.join(sorted(SECRET_PARAMETERS))
# A parameter in a URL query or a form body: name=value.
_SECRET_PARAMETER = re.compile(r'((?:^|[?&;])(?:%s)=)[^&#;\s"\']*' % _NAMES, re.IGNORECASE)
# A JSON field, also in a truncated answer: "name": "value.
_SECRET_FIELD = re.compile(r'("(?:%s)"\s*:\s*")(?:[^"\\]|\\.)*' % _NAMES, re.IGNORECASE)


def is_secret(name):
    """Return whether a parameter name holds a secret (case-insensitive)."""
    return name.lower() in SECRET_PARAMETERS


def redact_params(params):
    """Return a copy of ``params`` with the values of secret parameters redacted."""
    return {name: (REDACTED if is_secret(name) else value)
            for name, value in (params or {}).items()}


def redact_url(url):
    """Return ``url`` (or a form body) with the values of secret parameters redacted."""
    return _SECRET_PARAMETER.sub(r'\1' + REDACTED, url)


def redact_text(text, secrets=()):
    """Return ``text`` without the given secret values, secret parameters nor JSON fields.

    :param text: a message that may quote a URL, a parameter value or an answer
    :type text: string
    :param secrets: secret values to remove wherever they appear
    :type secrets: iterable[string]
    :rtype: string
    """
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    return _SECRET_FIELD.sub(r'\1' + REDACTED, redact_url(text))


def secret_values(params):
    """Return the values of the secret parameters of ``params``."""
    return [str(value) for name, value in (params or {}).items()
            if is_secret(name) and value is not None]


def _redacted_data(data):
    """A text or bytes body redacted; any other body (a file being sent) left out."""
    if isinstance(data, str):
        return redact_text(data)
    if isinstance(data, (bytes, bytearray)):
        return redact_text(bytes(data).decode('latin-1')).encode('latin-1')
    return None


def _redacted_headers(headers):
    redacted = CaseInsensitiveDict()
    for name, value in (headers or {}).items():
        if name.lower() in SECRET_HEADERS:
            value = REDACTED
        elif isinstance(value, str):
            value = redact_url(value)  # a Location may hold authToken
        redacted[name] = value
    return redacted


def redacted_request(request):
    """Return a copy of a ``requests`` request without its secrets (None for None).

    :param request: a request that was sent
    :type request: None | requests.PreparedRequest | requests.Request
    :rtype: None | requests.PreparedRequest
    """
    if request is None:
        return None
    copy = requests.PreparedRequest()
    copy.method = request.method
    copy.url = redact_url(request.url) if request.url else request.url
    copy.headers = _redacted_headers(request.headers)
    copy.body = _redacted_data(getattr(request, 'body', getattr(request, 'data', None)))
    return copy


def redacted_response(response):
    """Return a copy of a ``requests`` response without its secrets (None for None).

    The copy holds the body only if it had been read already (it never reads
    from the connection), and no connection.

    :param response: an answer
    :type response: None | requests.Response
    :rtype: None | requests.Response
    """
    if response is None:
        return None
    copy = requests.Response()
    copy.status_code = response.status_code
    copy.reason = response.reason
    copy.encoding = response.encoding
    copy.elapsed = response.elapsed
    copy.url = redact_url(response.url) if response.url else response.url
    copy.headers = _redacted_headers(response.headers)
    copy.request = redacted_request(response.request)
    copy.history = [redacted_response(earlier) for earlier in response.history]
    content = response.__dict__.get('_content')
    copy._content = _redacted_data(content) if isinstance(content, bytes) else None
    copy._content_consumed = True
    return copy


def scrub_chain(error):
    """Redact, in place, an exception and every exception it holds or was caused by.

    Secret parameters and JSON fields are removed from their arguments (which
    their messages and representations are made of, e.g. the URL in urllib3's
    "Max retries exceeded with url: ..."), and their ``request``, ``response``
    and ``url`` attributes are replaced by redacted copies.

    :param error: the exception (None: nothing to do)
    :type error: None | BaseException
    """
    seen = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        pending.extend([current.__cause__, current.__context__,
                        getattr(current, 'reason', None)])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        try:
            current.args = tuple(_redacted_argument(arg) for arg in current.args)
        except (AttributeError, TypeError):  # an exception type with read-only args
            pass
        for name, redacted in (('request', redacted_request), ('response', redacted_response)):
            value = getattr(current, name, None)
            if isinstance(value, (requests.PreparedRequest, requests.Request, requests.Response)):
                setattr(current, name, redacted(value))
        if isinstance(getattr(current, 'url', None), str):
            current.url = redact_url(current.url)


def _redacted_argument(arg):
    if isinstance(arg, (str, bytes, bytearray)):
        return _redacted_data(arg)
    return arg
