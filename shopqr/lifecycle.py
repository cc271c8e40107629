"""A process that is about to stop (a deploy, a restart) says so here, once.

gunicorn.conf.py calls ``begin_shutdown`` from the worker's SIGTERM handler. What must happen
then registers with ``on_shutdown``: open staff websockets close with 1012 ("service restart",
which the page's ws extension reconnects after), and the poller gives up its lease so the next
process confirms payments at once. Without that, a worker waits up to its graceful timeout for
every open socket, holding the port, while guests wait."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_stopping = threading.Event()
_callbacks: list[Callable[[], None]] = []
_threads: list[threading.Thread] = []
_lock = threading.Lock()


def stopping() -> bool:
    return _stopping.is_set()


def on_shutdown(callback: Callable[[], None]) -> None:
    """Run `callback` (in a thread of its own) when the process begins to stop."""
    with _lock:
        _callbacks.append(callback)


def begin_shutdown() -> None:
    """Start every shutdown callback, once, each in a thread of its own. Safe to call from a
    signal handler: nothing here blocks."""
    with _lock:
        if _stopping.is_set():
            return
        _stopping.set()
        for callback in _callbacks:
            thread = threading.Thread(target=_run, args=(callback,), name="shopqr-shutdown",
                                      daemon=True)
            _threads.append(thread)
            thread.start()


def finish_shutdown(timeout: float) -> None:
    """Begin the shutdown if nobody did, and wait up to `timeout` seconds for its steps (the
    worker's last moments: the poller's lease must be given up before the process ends)."""
    begin_shutdown()
    with _lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout=timeout)


def _run(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        log.exception("shutdown step %s failed", getattr(callback, "__qualname__", callback))


def reset_for_tests() -> None:
    """A new test app in the same process starts as running, with no callbacks."""
    with _lock:
        _stopping.clear()
        _callbacks.clear()
        _threads.clear()
