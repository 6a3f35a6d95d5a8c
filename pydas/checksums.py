"""MD5 checksums, as Midas keeps them: of a file on disk, and of bytes as they arrive.

The client (uploads, downloads), the embedded server (:mod:`pydas.testing`)
and the benchmarks all hash through this module.
"""

import hashlib
import os
import queue
import threading

from pydas.transport import CHUNK_SIZE

#: Bytes read at a time to hash a file.
HASH_CHUNK_SIZE = 4 * CHUNK_SIZE

#: Buffers taking turns between receiving and the hashing thread of :class:`ReceivingMD5`.
HASH_QUEUE_CHUNKS = 8

#: Bytes to receive above which :class:`ReceivingMD5` hashes on a thread of its own (below,
#: starting the thread costs more than the overlap saves).
BACKGROUND_HASH_MIN_SIZE = 8 * CHUNK_SIZE


def md5_state(path):
    """Return the MD5 state of a file's content and its size, reading it once in chunks.

    The state can go on with the bytes that follow (e.g. in a
    :class:`ReceivingMD5`).

    :param path: path of the file
    :type path: string
    :rtype: (hashlib.md5, int)
    """
    with open(path, 'rb', buffering=0) as stream:
        return stream_md5_state(stream)


def stream_md5_state(stream):
    """Return the MD5 state and size of what an open file holds from its position on.

    :param stream: a file opened in binary mode, unbuffered
    :type stream: io.FileIO
    :rtype: (hashlib.md5, int)
    """
    digest = hashlib.md5()
    size = 0
    if os.fstat(stream.fileno()).st_size <= CHUNK_SIZE:
        data = stream.read()
        digest.update(data)
        return digest, len(data)
    # One reused buffer: no allocation per chunk, and hashlib releases the GIL.
    buffer = bytearray(HASH_CHUNK_SIZE)
    view = memoryview(buffer)
    while True:
        count = stream.readinto(buffer)
        if not count:
            break
        digest.update(view[:count])
        size += count
    return digest, size


def file_md5(path):
    """Return the MD5 hex digest and the size of a file, reading it once in chunks.

    :param path: path of the file
    :type path: string
    :rtype: (string, int)
    """
    digest, size = md5_state(path)
    return digest.hexdigest(), size


class ReceivingMD5(object):
    """Buffers to receive a file into, and the MD5 of what they received.

    Take a buffer with :meth:`buffer`, fill it, then hand it to :meth:`update`,
    which hashes it and makes it available again. When more than
    :data:`BACKGROUND_HASH_MIN_SIZE` bytes are to come, the hashing runs on a
    thread of its own, overlapping with the network (hashlib releases the GIL),
    over :data:`HASH_QUEUE_CHUNKS` buffers that take turns, so memory stays
    bounded and nothing is copied; otherwise one buffer is hashed on the
    calling thread. :meth:`close` ends the thread in any case; use the object
    as a context manager.

    :param digest: the MD5 state to continue (e.g. of bytes already on disk)
    :type digest: hashlib.md5
    :param buffer_size: bytes per buffer
    :type buffer_size: int
    :param expected_size: bytes to be received
    :type expected_size: int
    """

    def __init__(self, digest, buffer_size, expected_size):
        background = expected_size > BACKGROUND_HASH_MIN_SIZE
        self._digest = digest
        self._free = queue.Queue()
        for _ in range(HASH_QUEUE_CHUNKS if background else 1):
            self._free.put(bytearray(buffer_size))
        self._thread = None
        if background:
            self._filled = queue.Queue()
            self._thread = threading.Thread(target=self._run, name='pydas-md5', daemon=True)
            self._thread.start()

    def _run(self):
        for buffer, count in iter(self._filled.get, None):
            self._hash(buffer, count)

    def _hash(self, buffer, count):
        self._digest.update(memoryview(buffer)[:count])
        self._free.put(buffer)

    def buffer(self):
        """Return a buffer to fill (waiting while every buffer is being hashed).

        :rtype: bytearray
        """
        return self._free.get()

    def update(self, buffer, count):
        """Add the first ``count`` bytes of ``buffer`` (from :meth:`buffer`) to the digest."""
        if self._thread is None:
            self._hash(buffer, count)
        else:
            self._filled.put((buffer, count))

    def close(self):
        """Finish the hashing thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            self._filled.put(None)
            self._thread.join()

    def hexdigest(self):
        """Return the hex MD5 of everything given so far."""
        self.close()
        return self._digest.hexdigest()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
