"""Helpers of the client tests."""

from midas_calls import last_call


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
