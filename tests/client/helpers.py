"""Helpers of the client tests."""


def last_call(server, method):
    """The last call of ``method`` the server received."""
    calls = [call for call in server.calls if call.method == method]
    assert calls, 'the server received no %s call' % method
    return calls[-1]


def sent(server, method):
    """The parameters of the last ``method`` call (query and form, without ``method``).

    Also checks the protocol: a POST keeps everything but the method name out of the URL.
    """
    call = last_call(server, method)
    if call.verb == 'POST':
        assert call.query == {'method': method}
    params = dict(call.query, **call.form)
    params.pop('method')
    return params
