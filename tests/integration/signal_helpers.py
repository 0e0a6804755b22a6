"""Signals for the command-line children the tests start and then stop."""

import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def ctrl_c_reaches_children() -> Iterator[None]:
    """A suite started in the background (`nohup make test &`, a CI runner without job
    control) ignores SIGINT, and a child inherits that: a child a test interrupts would
    serve on forever. A handled signal is reset to the default across exec, so children
    started inside this block stop on SIGINT."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
