"""Shared checks of the API areas: privacy values, caller checks, id parsing."""

from pydas.testing.registry import ApiError

PRIVACY_VALUES = ('Public', 'Private')
PRIVACY_MESSAGE = 'privacy should be one of [Public|Private]'


def check_privacy(value):
    """Fail with -150 unless ``value`` is exactly ``Public`` or ``Private``."""
    if value not in PRIVACY_VALUES:
        raise ApiError(-150, PRIVACY_MESSAGE)


def logged_in(call, code, message):
    """The caller, or ``ApiError(code, message)`` for an anonymous caller."""
    user = call.user
    if user is None:
        raise ApiError(code, message)
    return user


def is_number(value):
    """Whether a parameter value is a (possibly negative) integer."""
    return value is not None and value.lstrip('-').isdigit()
