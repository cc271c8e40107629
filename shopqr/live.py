"""Websocket plumbing shared by the live screens: a snapshot on connect, then one message per
event, each a run of out-of-band HTML fragments. The handler thread is the socket's only
writer; it waits on the subscriber's bounded queue with a timeout and closes the DB session
after every render."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app

from shopqr.extensions import db
from shopqr.services.events import Event, get_bus

log = logging.getLogger(__name__)

WAIT_SECONDS = 1.0


class SharedRenders:
    """One render per event for all of a process's sockets that show the same thing (every
    kitchen screen of a shop gets the same board): the first socket renders, the rest wait
    for its result. Keyed by the event object, which the bus hands to every subscriber."""

    MAX = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[int, str], tuple[Event, threading.Event, list]] = (
            OrderedDict())

    def get(self, ev: Event, key: str, render: Callable[[], str | None]) -> str | None:
        slot = (id(ev), key)
        with self._lock:
            entry = self._entries.get(slot)
            owner = entry is None or entry[0] is not ev
            if owner:
                entry = (ev, threading.Event(), [])
                self._entries[slot] = entry
                while len(self._entries) > self.MAX:
                    self._entries.popitem(last=False)
        _, done, result = entry
        if owner:
            try:
                result.append(render())
            finally:
                done.set()
        elif not done.wait(timeout=10) or not result:
            return render()
        return result[0]


shared_renders = SharedRenders()


def serve_socket(ws, shop_id: int, render_snapshot: Callable[[], str],  # type: ignore[no-untyped-def]
                 render_event: Callable[[Event], str | None],
                 still_allowed: Callable[[], bool] | None = None,
                 share_key: str | None = None) -> None:
    """Send a full snapshot, then a fragment per event, until the client goes away. Sockets
    with the same ``share_key`` receive the same markup, rendered once per event."""
    bus = get_bus(current_app._get_current_object())  # type: ignore[attr-defined]
    with bus.subscribe(shop_id) as sub:
        try:
            ws.send(render_snapshot())
        finally:
            db.session.remove()
        idle_ticks = 0
        while ws.connected:
            ev = sub.get(timeout=WAIT_SECONDS)
            if sub.overflowed:  # fell behind: resync from the database
                sub.overflowed = False
                _send(ws, render_snapshot)
                continue
            if ev is None:
                idle_ticks += 1
                if still_allowed is not None and idle_ticks % 30 == 0:
                    try:
                        if not still_allowed():
                            ws.close(reason=1008, message="signed out")
                            return
                    finally:
                        db.session.remove()
                continue
            if share_key is None:
                _send(ws, lambda ev=ev: render_event(ev))
            else:
                _send(ws, lambda ev=ev: shared_renders.get(ev, share_key,
                                                           lambda: render_event(ev)))


def _send(ws, render: Callable[[], str | None]) -> None:  # type: ignore[no-untyped-def]
    try:
        message = render()
    finally:
        db.session.remove()
    if message:
        ws.send(message)
