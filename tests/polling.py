"""Waiting for a condition in tests: poll it until a deadline, never a fixed sleep."""

import time


def poll(condition, timeout=10.0, step=0.01):
    """Call ``condition()`` until it returns something true or ``timeout`` seconds pass.

    :returns: its last value (false if the deadline passed first)
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)
