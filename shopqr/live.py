"""Websocket plumbing shared by the live screens: a snapshot on connect, then one message per
event, each a run of out-of-band HTML fragments. The handler thread is the socket's only
writer; it waits on the subscriber's bounded queue with a timeout and closes the DB session
after every render."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app

from shopqr.extensions import db
from shopqr.services.events import Event, get_bus

log = logging.getLogger(__name__)

WAIT_SECONDS = 1.0


def serve_socket(ws, shop_id: int, render_snapshot: Callable[[], str],  # type: ignore[no-untyped-def]
                 render_event: Callable[[Event], str | None],
                 still_allowed: Callable[[], bool] | None = None) -> None:
    """Send a full snapshot, then a fragment per event, until the client goes away."""
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
            _send(ws, lambda ev=ev: render_event(ev))


def _send(ws, render: Callable[[], str | None]) -> None:  # type: ignore[no-untyped-def]
    try:
        message = render()
    finally:
        db.session.remove()
    if message:
        ws.send(message)
