"""Fault injection: failing, cutting, delaying and lagging calls on purpose, for client tests.

Drive it from Python (``server.faults``) or over HTTP: ``POST /__pydas__/faults`` with a
JSON object ``{"action": "fail_next", "count": 2, "status": 503}`` (actions:
``fail_next``, ``cut_request``, ``cut_response``, ``delay``, ``lag_after_cut``,
``clear``, plus the server actions ``expire_tokens``, ``reset`` and ``workers``);
``GET /__pydas__/faults`` lists what is pending. A ``method`` filter names an API method
(case-insensitive); requests of the ``/download/`` controller match ``method='download'``
or any ``*.download`` filter.
"""

import json
import threading
import time

from pydas.testing.http import Response, error_page, php_headers

#: Defaults of :meth:`Faults.lag_after_cut`.
LAG_HELD_BYTES = 1 << 20
LAG_DURATION = 0.6
LAG_STEPS = 6

REASONS = {500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
           504: 'Gateway Timeout'}


def _matches(wanted, method):
    if wanted is None:
        return True
    if method is None:
        return wanted == 'download' or wanted.endswith('.download')
    return wanted.lower() == method.lower()


class Faults(object):
    """The pending faults of one server (thread-safe).

    :param actions: extra control actions for the HTTP endpoint, name -> callable()
    """

    def __init__(self, actions=None):
        self._lock = threading.Lock()
        self._actions = dict(actions or {})
        self.clear()

    def clear(self):
        """Forget every pending fault."""
        with self._lock:
            self._pending = {'fail': [], 'cut_request': [], 'cut_response': [], 'delay': [],
                             'lag': []}

    def fail_next(self, count=1, status=500, method=None, html=False, retry_after=None):
        """Answer the next ``count`` matching calls with HTTP ``status`` instead.

        :param html: send an HTML error page (as a PHP fatal error or a proxy would)
            instead of a short plain-text body
        :param retry_after: a ``Retry-After`` header value in seconds, or None
        """
        self._add('fail', count, method, status=status, html=html, retry_after=retry_after)

    def cut_request(self, after_bytes, method=None):
        """Drop the connection of the next matching call after ``after_bytes`` body bytes.

        The server keeps what it received (an upload's partial data stays resumable).
        """
        self._add('cut_request', 1, method, after=after_bytes)

    def cut_response(self, after_bytes, method=None):
        """Drop the connection of the next matching response after ``after_bytes``
        body bytes (responses with an empty body, like redirects, do not count)."""
        self._add('cut_response', 1, method, after=after_bytes)

    def delay(self, seconds, count=1, method=None):
        """Hold the next ``count`` matching calls for ``seconds`` before answering."""
        self._add('delay', count, method, seconds=seconds)

    def lag_after_cut(self, held_bytes=LAG_HELD_BYTES, duration=LAG_DURATION,
                      steps=LAG_STEPS, method='midas.upload.perform'):
        """Make the next stream upload whose connection breaks reach its partial late.

        While pending, a stream ``midas.upload.perform`` holds back the last
        ``held_bytes`` bytes it received instead of writing them at once. When its
        client connection breaks (a cut, a reset, a timeout), those bytes are appended to
        the partial after the cut, in ``steps`` equal pieces, one every ``duration /
        steps`` seconds, on a background thread: ``midas.upload.getoffset`` right after
        the cut answers less than was received, then grows until it settles. This is a
        real Midas, where PHP goes on appending what the web server had buffered. A
        perform that completes without a cut writes everything at once and leaves the
        fault pending.

        :param held_bytes: bytes held back (default 1 MiB); fewer are held if fewer came
        :param duration: seconds over which they are appended (default 0.6)
        :param steps: pieces (default 6: one every 0.1 s)
        :param method: the method it applies to
        """
        if int(held_bytes) < 0 or float(duration) < 0 or int(steps) < 1:
            raise ValueError('held_bytes and duration must be >= 0, steps >= 1')
        self._add('lag', 1, method, held_bytes=int(held_bytes), duration=float(duration),
                  steps=int(steps))

    def pending_lag(self, method):
        """The pending ``lag_after_cut`` fault for this call (left pending), or None."""
        with self._lock:
            for fault in self._pending['lag']:
                if _matches(fault['method'], method):
                    return dict(fault)
        return None

    def take_lag(self, method):
        """Consume the pending ``lag_after_cut`` fault for this call (it was cut)."""
        return self._take('lag', method)

    def _add(self, kind, count, method, **details):
        with self._lock:
            self._pending[kind].append(dict(details, count=int(count), method=method))

    def _take(self, kind, method):
        with self._lock:
            for fault in self._pending[kind]:
                if _matches(fault['method'], method):
                    fault['count'] -= 1
                    if fault['count'] <= 0:
                        self._pending[kind].remove(fault)
                    return fault
        return None

    def take_failure(self, method):
        """The injected :class:`Response` for this call, or None."""
        fault = self._take('fail', method)
        if fault is None:
            return None
        status = int(fault['status'])
        reason = REASONS.get(status, 'Error')
        if fault['html']:
            response = Response(status, php_headers(), error_page(reason))
        else:
            response = Response(status, [('Content-Type', 'text/plain; charset=UTF-8')],
                                reason.encode('ascii'))
        if fault['retry_after'] is not None:
            response.headers.append(('Retry-After', str(fault['retry_after'])))
        return response

    def take_request_cut(self, method):
        """The request-body byte count after which to drop this call, or None."""
        fault = self._take('cut_request', method)
        return None if fault is None else int(fault['after'])

    def take_response_cut(self, method):
        """The response-body byte count after which to drop this call, or None."""
        fault = self._take('cut_response', method)
        return None if fault is None else int(fault['after'])

    def apply_delay(self, method):
        """Sleep if a delay is pending for this call."""
        fault = self._take('delay', method)
        if fault is not None:
            time.sleep(float(fault['seconds']))

    def pending(self):
        """A copy of the pending faults by kind."""
        with self._lock:
            return {kind: [dict(fault) for fault in faults]
                    for kind, faults in self._pending.items()}

    def control(self, verb, body):
        """Serve the ``/__pydas__/faults`` endpoint; return a JSON :class:`Response`."""
        if verb == 'GET':
            return _json(200, {'pending': self.pending()})
        try:
            command = json.loads(body.decode('utf-8') or '{}')
            action = command.pop('action')
            if action in self._actions:
                self._actions[action](**command)
            elif action in ('fail_next', 'cut_request', 'cut_response', 'delay',
                            'lag_after_cut', 'clear'):
                getattr(self, action)(**command)
            else:
                raise ValueError('unknown action %r' % action)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return _json(400, {'ok': False, 'error': str(error)})
        return _json(200, {'ok': True})


def _json(status, data):
    return Response(status, [('Content-Type', 'application/json')],
                    json.dumps(data).encode('utf-8'))
