"""A TCP relay on 127.0.0.1 that adds a fixed one-way delay in each direction.

The stand-in for ``tc ... netem delay`` where the kernel has no ``sch_netem``: with
``RTT_MS`` = 20 every request/response round trip, and every new connection (its handshake),
takes 20 ms longer, as over a link with 20 ms of delay. Relaying costs some throughput, so
``bench_client.py`` uses it only for the latency-bound figures (per-call latency, small
files). Run by ``bench_client.py`` as a child process::

    python benchmarks/delay_proxy.py TARGET_HOST TARGET_PORT RTT_MS

It prints the port it listens on as its first stdout line and relays until interrupted.
"""

import collections
import socket
import sys
import threading
import time

CHUNK = 256 * 1024


class DelayedPipe(object):
    """Copy one direction of a connection, each chunk released ``delay`` seconds late."""

    def __init__(self, source, sink, delay):
        self.source = source
        self.sink = sink
        self.delay = delay
        self.queue = collections.deque()
        self.ready = threading.Condition()

    def start(self):
        threading.Thread(target=self._read, daemon=True).start()
        writer = threading.Thread(target=self._write, daemon=True)
        writer.start()
        return writer

    def _read(self):
        while True:
            try:
                data = self.source.recv(CHUNK)
            except OSError:
                data = b''
            with self.ready:
                self.queue.append((time.monotonic() + self.delay, data))
                self.ready.notify()
            if not data:
                return

    def _write(self):
        while True:
            with self.ready:
                self.ready.wait_for(lambda: self.queue)
                due, data = self.queue.popleft()
            time.sleep(max(0.0, due - time.monotonic()))
            if not data:
                shutdown(self.sink, socket.SHUT_WR)
                return
            try:
                self.sink.sendall(data)
            except OSError:
                shutdown(self.source, socket.SHUT_RD)
                return


def shutdown(sock, how):
    try:
        sock.shutdown(how)
    except OSError:
        pass


def relay(client, target, one_way_delay):
    upstream = socket.create_connection(target)
    # A real link spends one round trip on the TCP handshake before any data flows.
    time.sleep(2 * one_way_delay)
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    writers = [DelayedPipe(client, upstream, one_way_delay).start(),
               DelayedPipe(upstream, client, one_way_delay).start()]
    for writer in writers:
        writer.join()
    client.close()
    upstream.close()


def main(argv):
    target = (argv[0], int(argv[1]))
    one_way_delay = float(argv[2]) / 2000.0
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(128)
    try:
        print(listener.getsockname()[1], flush=True)
        while True:
            client, _ = listener.accept()
            threading.Thread(target=relay, args=(client, target, one_way_delay),
                             daemon=True).start()
    except KeyboardInterrupt:
        return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
