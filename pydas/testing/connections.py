"""Connections of the embedded server: accepting, waiting for requests, a bounded worker pool.

One event-loop thread holds every connection that is not being served: new ones, idle
keep-alive ones and those whose request head is still arriving. It reads request heads
without blocking, so idle and half-open (slowloris) connections cost a file descriptor
and no thread. A connection whose head is complete goes to a queue; at most
``workers`` threads take requests from it and serve them (others wait in the queue), then
hand keep-alive connections back to the loop. Workers started for a burst leave after
:data:`WORKER_IDLE_SECONDS` without work, so the thread count returns to its baseline.

:class:`Limits` holds the limits and timeouts (defaults in its docstring).
"""

import collections
import logging
import select
import selectors
import socket
import threading
import time

LOG = logging.getLogger('pydas.testing')
RECV_SIZE = 64 << 10
WORKER_IDLE_SECONDS = 2.0
# how long a worker waits for the next request of its keep-alive connection
KEEP_ALIVE_LINGER = 0.002
LOOP_TICK = 0.1
HEAD_END = b'\r\n\r\n'
BUSY_RESPONSE = (b'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n'
                 b'Content-Length: 19\r\nRetry-After: 1\r\nConnection: close\r\n\r\n'
                 b'Service Unavailable')
TIMEOUT_RESPONSE = (b'HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n'
                    b'Content-Length: 15\r\nConnection: close\r\n\r\nRequest Timeout')
NOT_HTTP_RESPONSE = (b'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n'
                     b'Content-Length: 11\r\nConnection: close\r\n\r\nBad Request')
HEAD_TOO_LARGE_RESPONSE = (b'HTTP/1.1 431 Request Header Fields Too Large\r\n'
                           b'Content-Type: text/plain\r\nContent-Length: 31\r\n'
                           b'Connection: close\r\n\r\nRequest Header Fields Too Large')


class Limits(object):
    """Limits and timeouts of one server (all settable by keyword).

    :param workers: requests processed at once (default 32); more wait for a free worker
    :param max_connections: open connections at once (default 1000); a connection beyond
        gets ``503 Service Unavailable`` and is closed
    :param header_timeout: seconds from a request's first byte to the end of its head
        (default 10); then ``408 Request Timeout`` and the connection is closed
    :param body_timeout: seconds a body read or a response write may wait for the peer
        (default 30); then the connection is closed
    :param idle_timeout: seconds a connection may stay idle before its first request and
        between keep-alive requests (default 15); then it is closed
    :param head_limit: bytes of a request head (request line and headers, default 64 KiB);
        a longer one gets ``431``
    """

    def __init__(self, workers=32, max_connections=1000, header_timeout=10.0,
                 body_timeout=30.0, idle_timeout=15.0, head_limit=64 << 10):
        if int(workers) < 1:
            raise ValueError('workers must be at least 1')
        self.workers = int(workers)
        self.max_connections = int(max_connections)
        self.header_timeout = float(header_timeout)
        self.body_timeout = float(body_timeout)
        self.idle_timeout = float(idle_timeout)
        self.head_limit = int(head_limit)


class Connection(object):
    """A client connection and the bytes received but not yet used."""

    def __init__(self, sock, address):
        self.sock = sock
        self.address = address
        self.buffer = bytearray()
        self.deadline = 0.0
        self.heading = False  # a request head has started arriving

    def park(self, limits):
        """Wait for the next request (called before the connection joins the loop)."""
        self.heading = bool(self.buffer)
        timeout = limits.header_timeout if self.heading else limits.idle_timeout
        self.deadline = time.monotonic() + timeout

    def receive_head(self, linger):
        """Wait up to ``linger`` seconds for more of the next request head.

        Serving the next request of a busy keep-alive connection at once spares two
        hand-overs between threads; a slower one goes back to the event loop.

        :returns: True if the buffer holds a whole head, False if not (yet), None if the
            peer closed the connection
        """
        if HEAD_END in self.buffer:
            return True
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if not poller.poll(linger * 1000):
            return False
        try:
            data = self.sock.recv(RECV_SIZE, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return None
        if not data:
            return None
        self.buffer += data
        return HEAD_END in self.buffer

    def close(self):
        """Close the socket (errors ignored: the peer may be gone)."""
        try:
            self.sock.close()
        except OSError:
            pass


def _may_start_a_request(buffer):
    """Whether ``buffer`` can be the start of an HTTP request: a method name after any
    empty lines (which RFC 9112 lets a server skip)."""
    start = buffer.lstrip(b'\r\n')
    return not start or start[:1].isupper()


def _send_quietly(sock, data):
    try:
        sock.setblocking(False)
        sock.send(data)
    except OSError:
        pass


class ConnectionServer(object):
    """Accepts connections on ``address`` and serves their requests with ``serve``.

    :param serve: ``serve(connection)`` handles one or more requests of a connection whose
        buffer holds a complete request head, and returns whether to keep it open
    :param limits: a :class:`Limits`
    """

    def __init__(self, address, serve, limits):
        self.limits = limits
        self._serve = serve
        self._listener = socket.create_server(address, backlog=128)
        self._listener.setblocking(False)
        self.server_address = self._listener.getsockname()
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._returned = collections.deque()
        self._pending = collections.deque()   # connections waiting for a worker
        self._idle = []                        # workers waiting for a connection
        self._lock = threading.Lock()
        self._parked = set()
        self._active = set()
        self._workers = 0
        self._stopping = threading.Event()
        self._thread = None

    # -- life cycle ------------------------------------------------------------------

    def start(self):
        """Start the event loop on a daemon thread."""
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._loop, name='pydas-midas-server',
                                        daemon=True)
        self._thread.start()

    def stop(self):
        """Stop accepting, close every connection, and let the workers finish."""
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            active = list(self._active)
        for connection in active:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.wake()
        self._wake_reader.close()
        self._wake_writer.close()

    @property
    def open_connections(self):
        """How many connections are open (waiting or being served)."""
        with self._lock:
            return len(self._parked) + len(self._active)

    def set_workers(self, count):
        """Change how many requests are processed at once (takes effect as they finish)."""
        if int(count) < 1:
            raise ValueError('workers must be at least 1')
        with self._lock:
            self.limits.workers = int(count)
            self._start_workers()

    # -- the event loop --------------------------------------------------------------

    def _wake(self):
        try:
            self._wake_writer.send(b'x')
        except OSError:
            pass

    def _loop(self):
        try:
            while not self._stopping.is_set():
                for key, _ in self._selector.select(LOOP_TICK):
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is self._wake_reader:
                        self._drain_wakeups()
                    else:
                        self._receive(key.data)
                self._take_returned()
                self._expire()
        finally:
            self._selector.close()
            self._listener.close()
            with self._lock:
                parked, self._parked = list(self._parked), set()
            for connection in parked:
                connection.close()

    def _drain_wakeups(self):
        try:
            while self._wake_reader.recv(4096):
                pass
        except OSError:
            pass

    def _accept(self):
        while True:
            try:
                sock, address = self._listener.accept()
            except BlockingIOError:
                return
            except OSError as error:  # out of file descriptors: retry on the next tick
                LOG.debug('accept failed: %s', error)
                return
            connection = Connection(sock, address)
            with self._lock:
                full = len(self._parked) + len(self._active) >= self.limits.max_connections
            if full:
                _send_quietly(sock, BUSY_RESPONSE)
                connection.close()
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._park(connection)

    def _park(self, connection):
        connection.sock.setblocking(False)
        connection.park(self.limits)
        with self._lock:
            self._parked.add(connection)
        self._selector.register(connection.sock, selectors.EVENT_READ, connection)

    def _unpark(self, connection):
        self._selector.unregister(connection.sock)
        with self._lock:
            self._parked.discard(connection)

    def _drop(self, connection, answer=None):
        self._unpark(connection)
        if answer is not None:
            _send_quietly(connection.sock, answer)
        connection.close()

    def _receive(self, connection):
        try:
            data = connection.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            return self._drop(connection)
        searched = max(len(connection.buffer) - 3, 0)
        connection.buffer += data
        if not connection.heading:
            connection.heading = True
            connection.deadline = time.monotonic() + self.limits.header_timeout
        if connection.buffer.find(HEAD_END, searched) >= 0:
            self._unpark(connection)
            self._dispatch(connection)
        elif not _may_start_a_request(connection.buffer):
            # e.g. a TLS handshake sent to this plain-HTTP port: say so now, not at the
            # header timeout, as a web server does.
            self._drop(connection, NOT_HTTP_RESPONSE)
        elif len(connection.buffer) > self.limits.head_limit:
            self._drop(connection, HEAD_TOO_LARGE_RESPONSE)

    def _expire(self):
        now = time.monotonic()
        with self._lock:
            expired = [c for c in self._parked if c.deadline <= now]
        for connection in expired:
            self._drop(connection, TIMEOUT_RESPONSE if connection.heading else None)

    def _take_returned(self):
        while self._returned:
            connection = self._returned.popleft()
            with self._lock:
                self._active.discard(connection)
            if self._stopping.is_set():
                connection.close()
            else:
                self._park(connection)

    # -- workers ---------------------------------------------------------------------

    def _dispatch(self, connection):
        """Hand a connection to an idle worker, a new one within the limit, or the queue."""
        connection.sock.setblocking(True)
        connection.sock.settimeout(self.limits.body_timeout)
        with self._lock:
            self._active.add(connection)
            self._pending.append(connection)
            self._start_workers()

    def _start_workers(self):
        """Give the pending connections to idle workers, then to new ones within the
        limit (lock held); the rest wait for a worker to finish."""
        while self._pending and self._idle:
            self._idle.pop().hand(self._pending.popleft())
        while self._pending and self._workers < self.limits.workers:
            self._workers += 1
            worker = _Worker(self._pending.popleft())
            threading.Thread(target=self._work, args=(worker,), name='pydas-midas-worker',
                             daemon=True).start()

    def _work(self, worker):
        connection = worker.take()
        while connection is not None:
            self._run(connection)
            connection = self._next_job(worker)

    def _next_job(self, worker):
        """The next connection for this worker: a pending one, or one handed to it while
        it waits; None when it should end (idle too long, over the limit, stopping)."""
        with self._lock:
            if self._workers > self.limits.workers or self._stopping.is_set():
                self._workers -= 1
                return None
            if self._pending:
                return self._pending.popleft()
            self._idle.append(worker)
        worker.wait(WORKER_IDLE_SECONDS)
        with self._lock:
            connection = worker.take()
            if connection is None:
                if worker in self._idle:
                    self._idle.remove(worker)
                self._workers -= 1
            return connection

    def _run(self, connection):
        keep = False
        try:
            keep = self._serve(connection)
        except Exception:  # the peer went away mid-request, or a bug: drop the connection
            LOG.debug('connection from %s dropped', connection.address, exc_info=True)
        if keep and not self._stopping.is_set():
            self._returned.append(connection)
            self._wake()
        else:
            with self._lock:
                self._active.discard(connection)
            connection.close()


class SocketReader(object):
    """A buffered reader over a blocking socket, starting with bytes already received.

    It offers what the request parsing needs (``readline``, ``read``, ``readinto``) and
    tells how many received bytes are still unused (:attr:`pending`), so that a
    keep-alive connection can go back to the event loop with them.
    """

    def __init__(self, sock, received=b''):
        self._sock = sock
        self._buffer = bytearray(received)

    @property
    def pending(self):
        """The bytes received and not yet read."""
        return bytes(self._buffer)

    def _fill(self):
        data = self._sock.recv(RECV_SIZE)
        self._buffer += data
        return bool(data)

    def readline(self, limit=-1):
        """One line with its ``\\n``, at most ``limit`` bytes; ``b''`` at the end."""
        start = 0
        while True:
            end = self._buffer.find(b'\n', start)
            if end >= 0:
                end += 1
                break
            if 0 <= limit <= len(self._buffer):
                end = limit
                break
            start = len(self._buffer)
            if not self._fill():
                end = len(self._buffer)
                break
        if 0 <= limit < end:
            end = limit
        line = bytes(self._buffer[:end])
        del self._buffer[:end]
        return line

    def read(self, size=-1):
        """Up to ``size`` bytes (fewer only at the end of the stream)."""
        if size < 0:
            while self._fill():
                pass
            size = len(self._buffer)
        while len(self._buffer) < size and self._fill():
            pass
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readinto(self, buffer):
        """Fill part of a writable buffer; the count (0 at the end of the stream)."""
        if self._buffer:
            count = min(len(buffer), len(self._buffer))
            buffer[:count] = self._buffer[:count]
            del self._buffer[:count]
            return count
        return self._sock.recv_into(buffer)


class SocketWriter(object):
    """The unbuffered writer of a socket (``write`` sends everything)."""

    def __init__(self, sock):
        self._sock = sock

    def write(self, data):
        """Send all of ``data``."""
        self._sock.sendall(data)
        return len(data)

    def flush(self):
        """Nothing to flush: writes are sent at once."""


class _Worker(object):
    """A worker thread's mailbox: the connection handed to it (under the server lock)."""

    def __init__(self, connection=None):
        self._connection = connection
        self._event = threading.Event()

    def hand(self, connection):
        """Give the worker a connection to serve and wake it."""
        self._connection = connection
        self._event.set()

    def wake(self):
        """Wake the worker without work (the server stops)."""
        self._event.set()

    def take(self):
        """The connection handed to the worker, or None."""
        connection, self._connection = self._connection, None
        self._event.clear()
        return connection

    def wait(self, timeout):
        """Wait until a connection is handed (or ``timeout`` seconds pass)."""
        self._event.wait(timeout)
