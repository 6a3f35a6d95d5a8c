"""The calls the embedded server recorded, by API method (shared by the test directories)."""


def calls_of(server, method):
    """The recorded calls of one API method (Midas reads method names in any case)."""
    return [call for call in server.calls if (call.method or '').lower() == method.lower()]


def last_call(server, method):
    """The last call of ``method`` the server received."""
    calls = calls_of(server, method)
    assert calls, 'the server received no %s call' % method
    return calls[-1]
