"""The JSON encoding of Midas responses, byte for byte as PHP produces it.

Midas walks the result replacing every scalar by ``utf8_encode(scalar)`` (so every
scalar becomes a string and non-ASCII text is double-encoded), then calls
``json_encode`` with ``JSON_HEX_TAG``: ``/`` is escaped as ``\\/``, ``<`` and ``>`` as
``\\u003C``/``\\u003E``, and every non-ASCII character as a lower-case ``\\uXXXX``.
"""

import json

_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(',', ':'))


def php_float(value):
    """Format a float like PHP's string conversion (14 significant digits)."""
    text = '%.14G' % value
    if 'E' not in text:
        return text
    mantissa, exponent = text.split('E')
    if '.' not in mantissa:
        mantissa += '.0'
    return '%sE%s%d' % (mantissa, '-' if exponent.startswith('-') else '+', abs(int(exponent)))


def php_scalar(value):
    """Convert one leaf value as ``utf8_encode`` does (always a string)."""
    if value is None or value is False:
        return ''
    if value is True:
        return '1'
    if isinstance(value, float):
        return php_float(value)
    if isinstance(value, bytes):
        return value.decode('latin-1')
    if isinstance(value, str):
        # Faithful double encoding: each UTF-8 byte becomes one character.
        return value.encode('utf-8').decode('latin-1')
    return str(value)


def php_walk(value):
    """Convert a whole result tree: dicts stay objects, lists/tuples stay lists."""
    if isinstance(value, dict):
        return {str(key): php_walk(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [php_walk(item) for item in value]
    return php_scalar(value)


def php_json(value):
    """Encode ``value`` (already walked or plain) as PHP's ``json_encode`` text."""
    text = _ENCODER.encode(value)
    return text.replace('/', '\\/').replace('<', '\\u003C').replace('>', '\\u003E')


def success(data):
    """The bytes of a success envelope around ``data``."""
    return php_json({'code': '0', 'data': php_walk(data), 'message': '',
                     'stat': 'ok'}).encode('ascii')


def failure(code, message):
    """The bytes of a failure envelope with this ``code`` and ``message``."""
    return php_json({'code': php_scalar(code), 'data': '', 'message': php_scalar(message),
                     'stat': 'fail'}).encode('ascii')
