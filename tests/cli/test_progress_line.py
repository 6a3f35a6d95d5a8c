"""The progress line fits 80 columns and leaves a clean line when interrupted."""

import io

import pytest

from pydas import progressbar
from pydas.transfer import Progress


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


@pytest.mark.parametrize('progress', [
    Progress(0, 0, 0, 0, None),
    Progress(512, 10 ** 6, 1, 3, None),
    Progress(999 * 10 ** 12, 999 * 10 ** 12, 99999, 99999, None),
])
@pytest.mark.parametrize('elapsed', [0.0, 1.0, 359999.0])
def test_the_line_fits_80_columns_with_every_figure(progress, elapsed):
    line = progressbar.describe(progress, elapsed, 80)
    assert len(line) <= 79
    assert line.endswith(' left') and 'files' in line  # nothing was cut off
    assert line.startswith('[') and ']' in line


def test_a_log_line_fits_80_columns():
    log = io.StringIO()
    display = progressbar.ProgressDisplay(log)
    display(Progress(999 * 10 ** 9, 999 * 10 ** 12, 99999, 99999, None))
    assert all(len(line) <= 79 for line in log.getvalue().splitlines())


def test_an_interrupt_erases_the_line_and_nothing_is_drawn_after(monkeypatch):
    monkeypatch.setenv('COLUMNS', '80')
    terminal = FakeTerminal()
    with pytest.raises(KeyboardInterrupt):
        with progressbar.reporter(terminal) as progress:
            progress(Progress(1, 2, 0, 1, None))
            raise KeyboardInterrupt
    progress(Progress(2, 2, 1, 1, None))  # a transfer thread still reporting
    assert terminal.getvalue().endswith('\r\x1b[K')
    assert terminal.getvalue().count('\r\x1b[K') == 2
