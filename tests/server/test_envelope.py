"""The PHP-like JSON encoding of envelopes."""

from pydas.testing import envelope


def test_scalars_become_strings():
    body = envelope.success({'id': 7, 'ok': True, 'no': False, 'none': None, 'x': 2.0,
                             'y': 0.93, 'list': [1, 'a'], 'empty': []})
    assert body == (b'{"code":"0","data":{"id":"7","ok":"1","no":"","none":"","x":"2",'
                    b'"y":"0.93","list":["1","a"],"empty":[]},"message":"","stat":"ok"}')


def test_double_utf8_encoding_slashes_and_tags():
    body = envelope.success({'name': 'Grüße', 'path': 'a/b<c>'})
    assert body == (b'{"code":"0","data":{"name":"Gr\\u00c3\\u00bc\\u00c3\\u009fe",'
                    b'"path":"a\\/b\\u003Cc\\u003E"},"message":"","stat":"ok"}')


def test_failure():
    assert envelope.failure(-150, 'Parameter id is not defined') == (
        b'{"code":"-150","data":"","message":"Parameter id is not defined","stat":"fail"}')


def test_php_float_exponent():
    assert envelope.php_float(1e20) == '1.0E+20'
    assert envelope.php_float(1.5e-7) == '1.5E-7'
