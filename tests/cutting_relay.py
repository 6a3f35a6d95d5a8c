"""A TCP relay on 127.0.0.1 that cuts connections at seeded random byte positions.

Put between the client and the embedded server, it breaks connections the way
the world does: in the middle of a request body, in the middle of an answer,
or right after the server received a whole request but before its answer
reaches the client (a cut at byte 0 of the answer). The positions come from a
seeded random generator, so a failing run can be replayed.

    with CuttingRelay(server.url, seed=7, max_cuts=8, span=16 << 20) as relay:
        communicator = pydas.core.Communicator(relay.url)
        ...
    relay.cuts  # the cuts made: (direction, byte position)
    relay.planned  # the cuts planned, made or not (a connection may end before)
"""

import random
import socket
import threading
import time
from urllib.parse import urlsplit

UPSTREAM = 'client->server'
DOWNSTREAM = 'server->client'


class CuttingRelay(object):
    """Relays connections to ``target_url``'s host and port, cutting some of them.

    Each new connection is cut with probability ``probability`` (until
    ``max_cuts`` cuts were made): in a random direction, after a random number
    of bytes below ``span`` in that direction (0 included, so a whole request
    may arrive and its answer never come back).

    :param target_url: the server's URL (its path is kept in :attr:`url`)
    :param seed: seeds the positions
    :param max_cuts: the most cuts of one relay
    :param span: cut positions are below this many bytes: one number, or a dict of
        a number by direction (an upload's answers are far shorter than its requests)
    :param probability: chance that a new connection is cut
    :param armed: whether to cut from the start (else from when :attr:`armed` is set)
    :param rate: (optional) bytes per second each direction of a connection moves at
        most, to keep a transfer going long enough to interrupt it
    :param plan: (optional) the cuts of the first connections, in order, as (direction,
        byte position) pairs; the random ones come after them
    """

    def __init__(self, target_url, seed=0, max_cuts=0, span=1, probability=0.5, armed=True,
                 rate=None, plan=()):
        parts = urlsplit(target_url)
        self._target = (parts.hostname, parts.port)
        self._path = parts.path
        self._random = random.Random(seed)
        self._max_cuts = max_cuts
        self._span = span if isinstance(span, dict) else {UPSTREAM: span, DOWNSTREAM: span}
        self._probability = probability
        self._plan = list(plan)
        #: bytes per second each direction of a connection moves at most (None: no limit)
        self.rate = rate
        self._lock = threading.Lock()
        self._sockets = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(64)
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        #: cuts are planned only for connections opened while this is true
        self.armed = armed
        self.cuts = []
        self.planned = []
        self.connections = 0
        #: bytes relayed so far, by direction
        self.moved = {UPSTREAM: 0, DOWNSTREAM: 0}

    @property
    def url(self):
        """The URL to give the client instead of the server's."""
        return 'http://127.0.0.1:{0}{1}'.format(self._listener.getsockname()[1], self._path)

    def __enter__(self):
        self._accepting.start()
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Stop accepting and close every relayed connection."""
        _close(self._listener)  # shutting it down wakes the thread blocked in accept()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        self._accepting.join(5)

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target, timeout=10)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            cut = self._plan_cut()
            with self._lock:
                self.connections += 1
                self._sockets.update((client, server))
            pair = (client, server)
            for source, sink, direction in ((client, server, UPSTREAM),
                                            (server, client, DOWNSTREAM)):
                limit = cut[1] if cut and cut[0] == direction else None
                threading.Thread(target=self._pump, args=(source, sink, limit, pair, direction),
                                 daemon=True).start()

    def _plan_cut(self):
        with self._lock:
            if self._plan:
                cut = self._plan.pop(0)
                self.planned.append(cut)
                return cut
            if (not self.armed or len(self.planned) >= self._max_cuts
                    or self._random.random() >= self._probability):
                return None
            direction = self._random.choice((UPSTREAM, DOWNSTREAM))
            cut = (direction, self._random.randrange(self._span[direction]))
            self.planned.append(cut)
            return cut

    def _pump(self, source, sink, limit, pair, direction):
        """Copy ``source`` to ``sink``; after ``limit`` bytes, cut both connections."""
        moved = 0
        started = time.monotonic()
        buffer = bytearray(64 * 1024)
        view = memoryview(buffer)
        try:
            while True:
                rate = self.rate
                if rate:
                    time.sleep(max(0.0, started + moved / rate - time.monotonic()))
                wanted = len(buffer) if limit is None else min(len(buffer), limit - moved)
                if wanted <= 0:
                    with self._lock:
                        self.cuts.append((direction, moved))
                    break
                count = source.recv_into(view[:wanted])
                if not count:
                    # An orderly end: pass it on, keep the other direction going.
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(view[:count])
                moved += count
                with self._lock:
                    self.moved[direction] += count
        except OSError:
            pass
        for sock in pair:
            _close(sock)
        with self._lock:
            self._sockets.difference_update(pair)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
