"""Midas module ``mfa``: the second step of a login with a one-time password (API §2.6).

``midas.login`` for a user with an OTP device (a ``user.otp_secret``) answers
``{"mfa_token_id": ...}`` instead of the token (:func:`login_hook`, registered
with :func:`pydas.testing.users.add_login_hook`); ``midas.mfa.otp.login``
trades that id and a one-time password for the real token.

Faithfulness note: the recorded server uses the ``oath_hotp`` device stub,
which accepts any OTP. This server verifies a real RFC 6238 TOTP against the
user's secret, with one time step of tolerance either way.
"""

import time

from pydas.testing import otp, storage, users
from pydas.testing.registry import ApiError, api_method

storage.register_schema("""
CREATE TABLE IF NOT EXISTS mfa_apitoken (
    mfa_apitoken_id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER, token_id INTEGER,
    creation_date TEXT);
""")

MODULE = 'mfa'
# time steps of clock drift accepted on either side of now
OTP_WINDOW = 1


def _otp_secret(store, user_id):
    secret = store.user_secret(user_id)
    return None if secret is None else secret['otp_secret']


def issue_mfa_token(store, user_id, token_id):
    """Record a pending MFA login for an API token; return its id (``mfa_token_id``).

    :param store: the server state
    :type store: pydas.testing.storage.Store
    :param user_id: the user who logged in
    :param token_id: the id of the real API token, handed out after the OTP
    :rtype: int
    """
    return store.execute('INSERT INTO mfa_apitoken (user_id, token_id, creation_date) '
                         'VALUES (?, ?, ?)', storage.as_id(user_id), storage.as_id(token_id),
                         storage.now())


def login_hook(call, user, token_row):
    """``midas.login`` hook: answer ``{"mfa_token_id": ...}`` for users with an OTP device.

    :returns: the login's ``data``, or None for a user without an OTP device
        (or when the module is disabled)
    """
    if MODULE not in call.server.modules or not _otp_secret(call.store, user['user_id']):
        return None
    return {'mfa_token_id': issue_mfa_token(call.store, user['user_id'], token_row['token_id'])}


users.add_login_hook(login_hook)


def _take_pending_login(store, mfa_token_id):
    """Fetch and delete a pending MFA login: every attempt consumes it, as in Midas."""
    with store.transaction():
        pending = store.one('SELECT * FROM mfa_apitoken WHERE mfa_apitoken_id = ?',
                            storage.as_id(mfa_token_id))
        if pending is not None:
            store.execute('DELETE FROM mfa_apitoken WHERE mfa_apitoken_id = ?',
                          pending['mfa_apitoken_id'])
    return pending


@api_method('midas.mfa.otp.login', module=MODULE)
def otp_login(call):
    """throws Exception

    (Server help text, as ``midas.methods.list`` shows it.) Trade a pending
    MFA login (from ``midas.login``) and a one-time password for the API token.

    :param otp: The one-time password
    :param mfaTokenId: The id of the temporary MFA token
    :returns: The api token
    """
    code = call.require('otp', module=True)
    mfa_token_id = call.require('mfaTokenId', module=True)
    pending = _take_pending_login(call.store, mfa_token_id)
    if pending is None:
        raise ApiError(-1, 'Invalid MFA token id')
    token = call.store.one('SELECT token FROM token WHERE token_id = ? AND expiration > ?',
                           pending['token_id'], time.time())
    if token is None:
        raise ApiError(-1, 'Corresponding api token no longer exists')
    secret = _otp_secret(call.store, pending['user_id'])
    if not secret:
        raise ApiError(-1, 'User does not have an OTP device')
    if not otp.verify(secret, code.strip(), window=OTP_WINDOW):
        raise ApiError(-1, 'Incorrect OTP')
    return {'token': token['token']}
