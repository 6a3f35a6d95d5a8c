"""Helpers of the client tests."""

import socket
import threading

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


def serve_once(answer):
    """A one-shot HTTP server on 127.0.0.1 that reads a request and sends ``answer`` raw,
    then closes: for answers no Midas server sends (cut headers, chunked bodies).

    :returns: its URL
    """
    listener = socket.create_server(('127.0.0.1', 0))
    listener.settimeout(10)

    def run():
        try:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(answer)
        finally:
            listener.close()

    threading.Thread(target=run, daemon=True).start()
    return 'http://127.0.0.1:%d/' % listener.getsockname()[1]
