"""Progress display and summaries of the ``pydas`` command's transfers.

On a terminal, one line is redrawn in place: a bar, bytes and files done,
rate and time left. Elsewhere (a log file, a pipe), a plain line is written
every few seconds so logs stay short and readable.
"""

import contextlib
import shutil
import time

#: Seconds between two redraws on a terminal.
TERMINAL_INTERVAL = 0.1

#: Seconds between two lines when the output is not a terminal.
LOG_INTERVAL = 5.0

BAR_WIDTH = 24


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

    def __call__(self, progress):
        """Show ``progress`` (a :class:`pydas.transfer.Progress`) if it is time to."""
        self._last = progress
        now = self._clock()
        interval = TERMINAL_INTERVAL if self._terminal else LOG_INTERVAL
        if self._shown_at is None or now - self._shown_at >= interval:
            self._show(progress, now)

    def close(self):
        """Show the final state and end the line."""
        if self._last is not None:
            self._show(self._last, self._clock())
            if self._terminal:
                self._stream.write('\n')
                self._stream.flush()

    def _show(self, progress, now):
        self._shown_at = now
        line = describe(progress, now - self._started)
        if self._terminal:
            # A line longer than the terminal would wrap, and \r would not rewind it.
            width = shutil.get_terminal_size().columns - 1
            self._stream.write('\r\x1b[K' + line[:width])
        else:
            self._stream.write(line + '\n')
        self._stream.flush()


def describe(progress, elapsed):
    """Return one line: bar, bytes, files, rate and time left.

    :param progress: where the transfer stands
    :type progress: pydas.transfer.Progress
    :param elapsed: seconds since the transfer started
    :type elapsed: float
    :rtype: string
    """
    fraction = progress.bytes_done / progress.bytes_total if progress.bytes_total else 1.0
    filled = int(BAR_WIDTH * min(fraction, 1.0))
    rate = progress.bytes_done / elapsed if elapsed > 0 else 0.0
    remaining = progress.bytes_total - progress.bytes_done
    left = human_duration(remaining / rate) if rate else '?'
    return '[{0}{1}] {2:3.0f}%  {3} / {4}  {5}/{6} files  {7}/s  {8} left'.format(
        '#' * filled, '.' * (BAR_WIDTH - filled), 100 * fraction,
        human_size(progress.bytes_done), human_size(progress.bytes_total),
        progress.files_done, progress.files_total, human_size(rate), left)


@contextlib.contextmanager
def reporter(stream, quiet=False):
    """Yield the ``progress`` callback for one transfer (None when ``quiet``).

    The display is closed (its last state shown) when the block ends, even on
    an error.
    """
    if quiet:
        yield None
        return
    display = ProgressDisplay(stream)
    try:
        yield display
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
    line = '{0} {1} in {2:.1f} s: {3} files {4}'.format(
        verb, human_size(result.bytes_completed), elapsed, len(result.transferred), participle)
    if result.resumed:
        line += ' ({0} resumed)'.format(len(result.resumed))
    line += ', {0} skipped as identical, {1} failed'.format(
        len(result.unchanged), len(result.failed))
    if result.skipped:
        line += ', {0} left out'.format(len(result.skipped))
    return line
