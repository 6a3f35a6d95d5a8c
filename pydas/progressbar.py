"""Progress display and summaries of the ``pydas`` command's transfers.

On a terminal, one line is redrawn in place: a bar, bytes and files done,
rate and time left. Elsewhere (a log file, a pipe), a plain line is written
every few seconds so logs stay short and readable.
"""

import contextlib
import shutil
import threading
import time

#: Seconds between two redraws on a terminal.
TERMINAL_INTERVAL = 0.1

#: Seconds between two lines when the output is not a terminal.
LOG_INTERVAL = 5.0

#: Widest and narrowest bar, in characters.
BAR_WIDTH = 24
MIN_BAR_WIDTH = 10

#: Columns assumed when the output is not a terminal.
LOG_WIDTH = 80


def human_size(count):
    """Return a byte count for people: ``'512 B'``, ``'4.0 MB'``.

    :param count: bytes
    :type count: int
    :rtype: string
    """
    size = float(count)
    for unit in ('B', 'kB', 'MB', 'GB', 'TB'):
        if size < 1000 or unit == 'TB':
            break
        size /= 1000
    return '{0:.0f} {1}'.format(size, unit) if unit == 'B' else '{0:.1f} {1}'.format(size, unit)


def human_duration(seconds):
    """Return a duration as ``H:MM:SS``.

    :rtype: string
    """
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return '{0}:{1:02d}:{2:02d}'.format(hours, minutes, seconds)


class ProgressDisplay(object):
    """A ``progress`` callback of :func:`pydas.upload` and :func:`pydas.download`.

    :param stream: where to write (normally ``sys.stderr``)
    :param clock: returns the current time in seconds (tests give their own)
    """

    def __init__(self, stream, clock=time.monotonic):
        self._stream = stream
        self._terminal = stream.isatty()
        self._clock = clock
        self._started = clock()
        self._shown_at = None
        self._last = None
        self._closed = False
        # Transfer threads report one at a time, but may still report after an interrupt.
        self._lock = threading.Lock()

    def __call__(self, progress):
        """Show ``progress`` (a :class:`pydas.transfer.Progress`) if it is time to."""
        with self._lock:
            if self._closed:
                return
            self._last = progress
            now = self._clock()
            interval = TERMINAL_INTERVAL if self._terminal else LOG_INTERVAL
            if self._shown_at is None or now - self._shown_at >= interval:
                self._show(progress, now)

    def close(self, interrupted=False):
        """Show the final state and end the line; nothing is shown after.

        :param interrupted: erase the line instead (on a terminal), so that what
            follows (``pydas: interrupted``) starts on a clean line
        :type interrupted: bool
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._last is None:
                return
            if interrupted and self._terminal:
                self._stream.write('\r\x1b[K')
            else:
                self._show(self._last, self._clock())
                if self._terminal:
                    self._stream.write('\n')
            self._stream.flush()

    def _show(self, progress, now):
        self._shown_at = now
        if self._terminal:
            # A line longer than the terminal would wrap, and \r would not rewind it.
            line = describe(progress, now - self._started, shutil.get_terminal_size().columns)
            self._stream.write('\r\x1b[K' + line)
        else:
            self._stream.write(describe(progress, now - self._started, LOG_WIDTH) + '\n')
        self._stream.flush()


def describe(progress, elapsed, width=80):
    """Return one line of at most ``width - 1`` characters: bar, bytes, files, rate, time left.

    The bar takes the room the figures leave (up to :data:`BAR_WIDTH`); a line
    still too long for ``width`` is cut.

    :param progress: where the transfer stands
    :type progress: pydas.transfer.Progress
    :param elapsed: seconds since the transfer started
    :type elapsed: float
    :param width: columns of the terminal (the last one is left free, so the line never wraps)
    :type width: int
    :rtype: string
    """
    fraction = progress.bytes_done / progress.bytes_total if progress.bytes_total else 1.0
    rate = progress.bytes_done / elapsed if elapsed > 0 else 0.0
    remaining = progress.bytes_total - progress.bytes_done
    figures = ['{0:3.0f}%'.format(100 * fraction),
               '{0} / {1}'.format(human_size(progress.bytes_done),
                                  human_size(progress.bytes_total)),
               '{0}/{1} files'.format(progress.files_done, progress.files_total),
               '{0}/s'.format(human_size(rate)),
               '{0} left'.format(human_duration(remaining / rate) if rate else '?')]
    room = width - 1
    for separator in ('  ', ' '):
        rest = separator.join(figures)
        bar_width = min(BAR_WIDTH, room - len(rest) - 3)
        if bar_width >= MIN_BAR_WIDTH:
            break
    bar_width = max(bar_width, MIN_BAR_WIDTH)
    filled = int(bar_width * min(fraction, 1.0))
    line = '[{0}{1}] {2}'.format('#' * filled, '.' * (bar_width - filled), rest)
    return line[:room]


@contextlib.contextmanager
def reporter(stream, quiet=False):
    """Yield the ``progress`` callback for one transfer (None when ``quiet``).

    The display is closed (its last state shown) when the block ends, even on
    an error; on an interrupt (Ctrl-C) its line is erased instead.
    """
    if quiet:
        yield None
        return
    display = ProgressDisplay(stream)
    try:
        yield display
    except KeyboardInterrupt:
        display.close(interrupted=True)
        raise
    finally:
        display.close()


#: The verb and the participle of each kind of transfer, for summaries.
TRANSFER_WORDS = {'upload': ('Uploaded', 'sent'), 'download': ('Downloaded', 'received')}


def summary(kind, result, elapsed):
    """Return the closing line of a transfer.

    It counts the files completed and their bytes (not bytes sent again after a
    broken connection, nor those of files left partial), then what was resumed,
    found identical, left out and failed.

    :param kind: ``'upload'`` or ``'download'``
    :type kind: string
    :param result: what the transfer did
    :type result: pydas.transfer.TransferResult
    :param elapsed: seconds the transfer took
    :type elapsed: float
    :rtype: string
    """
    verb, participle = TRANSFER_WORDS[kind]
    count = len(result.transferred)
    parts = ['{0} {1} file{2} ({3}) in {4:.1f} s'.format(
        verb, count, '' if count == 1 else 's', human_size(result.bytes_completed), elapsed)]
    if result.resumed:
        parts[0] += ', {0} of them resumed'.format(len(result.resumed))
    parts.append('{0} identical, not {1}'.format(len(result.unchanged), participle))
    if result.skipped:
        parts.append('{0} left out'.format(len(result.skipped)))
    parts.append('{0} failed'.format(len(result.failed)))
    return '; '.join(parts)
