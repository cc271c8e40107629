"""Websocket plumbing shared by the live screens: a snapshot on connect, then one message per
event, each a run of out-of-band HTML fragments. The handler thread is the socket's only
writer; it waits on the subscriber's bounded queue with a timeout and closes the DB session
after every render."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import Blueprint, abort, current_app, g, request
from markupsafe import Markup

from shopqr.extensions import db, sock
from shopqr.models import Shop, User
from shopqr.services.auth import can_use
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


def add_staff_socket(bp: Blueprint, screen: str, render: Callable[[Shop], Markup], *,
                     kinds: frozenset[str] | None = None, shared: bool = False) -> None:
    """``<blueprint prefix>/ws`` for a live staff screen: refused before the handshake unless
    a staff member of THIS shop with access to `screen` is signed in; then `render(shop)`
    as a snapshot and again after every event of the shop (of `kinds`, if given). With
    `shared`, one render per event serves every socket of the shop in this process."""
    from shopqr.staff.auth import current_staff

    endpoint = f"{bp.name}.socket"

    @bp.before_request
    def _refuse_unauthorized_socket() -> None:
        if request.endpoint == endpoint:
            user = current_staff(g.shop, touch=False)
            if user is None or not can_use(user.role, screen):
                abort(403)
            g.staff = user

    @sock.route("/ws", bp=bp, endpoint="socket")
    def socket(ws) -> None:  # type: ignore[no-untyped-def]
        shop_id, user_id = g.shop.id, g.staff.id
        db.session.remove()

        def snapshot() -> str:
            return str(render(db.session.get(Shop, shop_id)))

        def on_event(ev: Event) -> str | None:
            return snapshot() if kinds is None or ev.kind in kinds else None

        def allowed() -> bool:
            staff = db.session.get(User, user_id)
            return bool(staff and staff.is_active and not staff.locked_at)

        serve_socket(ws, shop_id, snapshot, on_event, allowed,
                     share_key=f"{bp.name}:{shop_id}" if shared else None)
