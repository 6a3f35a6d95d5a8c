"""The late writes of the ``lag_after_cut`` fault (:meth:`pydas.testing.Faults.lag_after_cut`).

A real Midas appends an upload to its partial file as PHP reads the request body, with
``fopen(..., 'ab')``. When the client's connection breaks, PHP goes on appending what the
web server had buffered until it has read it all: for a moment after the cut, the
partial (and so ``midas.upload.getoffset``) is shorter than what the client sent, then
it grows. While the fault is pending, :class:`HeldTail` holds back the last bytes of a
stream upload instead of writing them; on a cut, :func:`append_later` appends them in
steps on a background thread.

A perform that completes a partial while late writes to it are still running waits for
them first (a second or less), so that nothing is written to a file once it is in the
assetstore; its checksum is then computed from the file as it is (a client that resumed
too early gets a bitstream whose checksum shows the damage, as Midas would record it).
"""

import logging
import threading
import time

LOG = logging.getLogger('pydas.testing')

_lock = threading.Lock()
_running = {}       # partial path -> the thread appending to it
_generations = {}   # partial path -> how many late writers it has had


class HeldTail(object):
    """A writer that holds back the last ``limit`` bytes written to ``output``."""

    def __init__(self, output, limit):
        self._output = output
        self._limit = limit
        self._held = bytearray()

    def write(self, data):
        """Add bytes; write those beyond the held tail."""
        self._held += data
        passed = len(self._held) - self._limit
        if passed > 0:
            self._output.write(self._held[:passed])
            del self._held[:passed]

    def release(self):
        """Write the held bytes now (the body ended without a cut)."""
        self._output.write(self._held)
        self._held = bytearray()

    def take(self):
        """The held bytes, which are not written."""
        held, self._held = bytes(self._held), bytearray()
        return held


def append_later(path, data, duration, steps):
    """Append ``data`` to ``path`` in ``steps`` pieces, one every ``duration / steps``
    seconds from now, on a background thread."""
    steps = max(int(steps), 1)
    interval = max(float(duration), 0.0) / steps
    piece = -(-len(data) // steps) or 1
    thread = threading.Thread(target=_append, args=(path, data, interval, piece),
                              name='pydas-midas-late-writer', daemon=True)
    with _lock:
        _running[path] = thread
        _generations[path] = _generations.get(path, 0) + 1
    thread.start()


def _append(path, data, interval, piece):
    try:
        for start in range(0, len(data) or 1, piece):
            time.sleep(interval)
            # opened by name at each step: a partial deleted meanwhile (reset) stops it
            with open(path, 'r+b') as partial:
                partial.seek(0, 2)
                partial.write(data[start:start + piece])
    except OSError as error:
        LOG.debug('late writes to %s stopped: %s', path, error)
    finally:
        with _lock:
            if _running.get(path) is threading.current_thread():
                del _running[path]


def generation(path):
    """A mark that changes whenever late writes to ``path`` start."""
    with _lock:
        return _generations.get(path, 0), path in _running


def wait(path):
    """Wait until no late writes to ``path`` run."""
    while True:
        with _lock:
            thread = _running.get(path)
        if thread is None:
            return
        thread.join()
