"""Repair of the text Midas double-encodes.

Midas passes every string of its JSON output through PHP ``utf8_encode()``,
which takes UTF-8 bytes for Latin-1 characters: ``Grüße`` comes back as
``GrÃ¼Ã\\x9fe``. Raw UTF-8 bytes in HTTP headers (file names) reach us the same
way, because ``http.client`` decodes headers as Latin-1.
"""


def repair_text(value):
    """Undo the double encoding in a string, or in every string of a dict or list.

    A string is changed only when it is entirely Latin-1 characters whose bytes
    form valid UTF-8, so ASCII and correctly decoded text are left alone.

    :param value: a value from a Midas response
    :type value: string | dict | list | object
    :returns: the same value with its strings repaired (new dicts and lists)
    :rtype: string | dict | list | object
    """
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            return value.encode('latin-1').decode('utf-8')
        except UnicodeError:
            return value
    if isinstance(value, dict):
        return {repair_text(key): repair_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [repair_text(item) for item in value]
    return value


def has_non_ascii_text(json_body):
    """Tell whether a JSON document may hold a non-ASCII string (one to repair).

    Cheaper than walking the decoded document: a non-ASCII character is either
    raw UTF-8 or a ``\\u`` escape.

    :param json_body: the raw JSON text
    :type json_body: bytes
    :rtype: bool
    """
    return not json_body.isascii() or b'\\u' in json_body
