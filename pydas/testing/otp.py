"""RFC 6238 time-based one-time passwords (TOTP), for the MFA users of the server."""

import base64
import hashlib
import hmac
import secrets
import struct
import time


def new_secret():
    """Return a random base32 secret (160 bits), as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode('ascii')


def totp(secret, at=None, step=30, digits=6):
    """Return the TOTP code of ``secret`` at time ``at`` (default: now).

    :param secret: the base32 shared secret
    :type secret: str
    :param at: a UNIX time, or None for the current time
    :param step: the time step in seconds
    :param digits: the number of digits of the code
    :returns: the code, zero-padded
    :rtype: str
    """
    key = base64.b32decode(secret.upper() + '=' * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack('>Q', counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def verify(secret, code, window=1, at=None, step=30):
    """Tell whether ``code`` is valid for ``secret`` within ``window`` steps of now.

    :rtype: bool
    """
    now = time.time() if at is None else at
    return any(hmac.compare_digest(totp(secret, now + drift * step, step), str(code))
               for drift in range(-window, window + 1))
