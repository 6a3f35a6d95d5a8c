"""Finding secrets in exceptions: what the ``no_secret_in_exceptions`` fixture checks.

Every :class:`pydas.exceptions.PydasException` created during a test is recorded;
when the test ends, each one, every exception of its chain (causes, contexts,
wrapped reasons), the traceback the interpreter would print for it and its
``request``/``response`` copies are searched for the secrets of that test: the
passwords, API keys, tokens, upload tokens and ``authToken`` values the
embedded server received or issued, and any value of a secret parameter left
unredacted in a URL, a form body or a JSON answer.
"""

import os
import re
import traceback

from pydas.redaction import REDACTED, SECRET_PARAMETERS, is_secret

_NAMES = '|'.join(sorted(SECRET_PARAMETERS))
_UNREDACTED = [
    re.compile(r'(?:^|[?&;])(?:%s)=(?!%s)([^&#;\s"\']+)' % (_NAMES, re.escape(REDACTED)),
               re.IGNORECASE),
    re.compile(r'"(?:%s)"\s*:\s*"(?!%s)([^"]+)' % (_NAMES, re.escape(REDACTED)),
               re.IGNORECASE),
]
_TESTS = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Shorter or numeric values (a TOTP code, the MFA temporary id) would match ordinary text.
_MIN_LENGTH = 6


def server_secrets(server):
    """The secret values the embedded server received in its recorded calls, or issued."""
    found = set()
    for call in server.calls:
        for params in (call.query, call.form):
            found.update(str(value) for name, value in params.items() if is_secret(name))
    for sql in ('SELECT apikey AS value FROM userapi', 'SELECT token AS value FROM token',
                'SELECT token AS value FROM uploadtoken'):
        found.update(row['value'] for row in server.query(sql))
    found.add(server.admin_password)
    return found


def chain(error):
    """The exception and every exception it holds or was raised from."""
    found, pending = [], [error]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseException) and all(current is not e for e in found):
            found.append(current)
            pending.extend([current.__cause__, current.__context__,
                            getattr(current, 'reason', None)])
            pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return found


def _http_texts(holder):
    texts = []
    request, response = getattr(holder, 'request', None), getattr(holder, 'response', None)
    for message in (request, getattr(response, 'request', None)):
        if message is not None:
            texts += [str(message.url), repr(message.body), repr(dict(message.headers or {}))]
    if response is not None:
        texts += [str(response.url), repr(dict(response.headers or {})),
                  repr(response.__dict__.get('_content'))]
        texts += [str(earlier.url) for earlier in response.history]
    return texts


def printed_traceback(error):
    """The traceback the interpreter prints for ``error``, without the frames of the tests
    (whose source lines quote the tests' own secrets)."""
    printed = traceback.TracebackException(type(error), error, error.__traceback__)
    pending, seen = [printed], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.stack = traceback.StackSummary.from_list(
            [frame for frame in current.stack if not frame.filename.startswith(_TESTS)])
        pending.extend([current.__cause__, current.__context__])
    return ''.join(printed.format())


def texts_of(error):
    """Everything a person or a log could see of ``error``."""
    texts = [printed_traceback(error)]
    for member in chain(error):
        texts += [str(member), repr(member), repr(member.args), str(getattr(member, 'url', ''))]
        texts += _http_texts(member)
    return texts


def leaks(error, secrets=()):
    """Return the secrets (or unredacted secret parameters) found in ``error``."""
    secrets = [secret for secret in secrets
               if secret and len(secret) >= _MIN_LENGTH and not secret.isdigit()]
    found = set()
    for text in texts_of(error):
        found.update(secret for secret in secrets if secret in text)
        for pattern in _UNREDACTED:
            found.update(match.group(0) for match in pattern.finditer(text))
    return sorted(found)
