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
"""

import random
import socket
import threading
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
    :param span: cut positions are below this many bytes
    :param probability: chance that a new connection is cut
    """

    def __init__(self, target_url, seed, max_cuts, span, probability=0.5):
        parts = urlsplit(target_url)
        self._target = (parts.hostname, parts.port)
        self._path = parts.path
        self._random = random.Random(seed)
        self._max_cuts = max_cuts
        self._span = span
        self._probability = probability
        self._lock = threading.Lock()
        self._sockets = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(64)
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self.cuts = []
        self.connections = 0

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
        self._listener.close()
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
            if len(self.cuts) >= self._max_cuts or self._random.random() >= self._probability:
                return None
            cut = (self._random.choice((UPSTREAM, DOWNSTREAM)),
                   self._random.randrange(self._span))
            self.cuts.append(cut)
            return cut

    def _pump(self, source, sink, limit, pair, direction):
        """Copy ``source`` to ``sink``; after ``limit`` bytes, cut both connections."""
        moved = 0
        buffer = bytearray(256 * 1024)
        view = memoryview(buffer)
        try:
            while True:
                wanted = len(buffer) if limit is None else min(len(buffer), limit - moved)
                if wanted <= 0:
                    break
                count = source.recv_into(view[:wanted])
                if not count:
                    # An orderly end: pass it on, keep the other direction going.
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(view[:count])
                moved += count
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
