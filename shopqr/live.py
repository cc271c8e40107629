"""Websocket plumbing shared by the live screens: a snapshot on connect, then one message per
event, each a run of out-of-band HTML fragments. The handler thread is the socket's only
writer; it waits on the subscriber's bounded queue with a timeout and closes the DB session
after every render."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, request, session
from flask_babel import get_locale
from markupsafe import Markup

from shopqr import lifecycle
from shopqr.extensions import db, sock
from shopqr.models import Shop
from shopqr.services import logins
from shopqr.services.auth import can_use
from shopqr.services.events import Event, get_bus

log = logging.getLogger(__name__)

WAIT_SECONDS = 1.0
# How often an open staff socket checks that its sign-in still holds (an event makes it check
# at once; this covers a missed event).
CHECK_SECONDS = 3.0
# Close code for "this process is restarting": htmx's ws extension reconnects after 1006, 1011,
# 1012 and 1013 only; after 1000 or 1001 a kitchen screen would stay offline until reloaded.
SERVICE_RESTART = 1012
POLICY_VIOLATION = 1008  # signed out, locked, removed: the page does not reconnect


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


def serve_socket(ws, shop_id: int, render_snapshot: Callable[[], str],
                 render_event: Callable[[Event], str | None],
                 still_allowed: Callable[[], bool] | None = None,
                 share_key: str | None = None, user_id: int | None = None) -> None:
    """Send a full snapshot, then a fragment per event, until the client goes away. Sockets
    with the same ``share_key`` receive the same markup, rendered once per event.

    When the process begins to stop (shopqr.lifecycle), the socket closes with 1012 within
    WAIT_SECONDS, and the page reconnects to the next process.

    ``still_allowed`` is asked every CHECK_SECONDS, and at once when an event says the access
    of ``user_id`` changed (signed out, PIN reset or locked, removed, new role); when it says
    no, the socket closes with 1008, which the page does not reconnect after."""
    bus = get_bus(current_app._get_current_object())
    with bus.subscribe(shop_id) as sub:
        try:
            ws.send(render_snapshot())
        finally:
            db.session.remove()
        next_check = time.monotonic() + CHECK_SECONDS

        def signed_out() -> bool:
            """Ask ``still_allowed``; close with 1008 when it says no."""
            nonlocal next_check
            next_check = time.monotonic() + CHECK_SECONDS
            try:
                allowed = still_allowed()
            finally:
                db.session.remove()
            if not allowed:
                close(ws, POLICY_VIOLATION, "signed out")
            return not allowed

        while ws.connected:
            ev = sub.get(timeout=WAIT_SECONDS)
            if lifecycle.stopping():  # a restart: the page reconnects to the next process
                close(ws, SERVICE_RESTART, "service restart")
                return
            check_now = ev is not None and ev.kind == logins.ACCESS_CHANGED \
                and ev.data.get("user_id") == user_id
            # The periodic check (it covers a missed event) waits until this event is sent:
            # when an order comes, every socket of the shop wakes at once, and a third of them
            # are due; their database queries would hold up the delivery.
            due = still_allowed is not None and time.monotonic() >= next_check
            if still_allowed is not None and (check_now or (due and ev is None)):
                if signed_out():
                    return
                due = False
            if sub.overflowed:  # fell behind: resync from the database
                sub.overflowed = False
                _send(ws, render_snapshot)
            elif ev is not None and ev.kind != logins.ACCESS_CHANGED:
                if share_key is None:
                    _send(ws, lambda ev=ev: render_event(ev))
                else:
                    _send(ws, lambda ev=ev: shared_renders.get(ev, share_key,
                                                               lambda: render_event(ev)))
            if due and signed_out():
                return


def close(ws, code: int, message: str) -> None:
    """Send the close frame, then end the TCP connection at once, as the server should
    (RFC 6455 7.1.1). Otherwise gunicorn lingers on each one for up to 2 s, one after
    another, waiting for the client to hang up first, and a stopping worker holds the port."""
    ws.close(reason=code, message=message)
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)
    # simple_websocket's reader thread sleeps in select() until its next ping (25 s); it wakes
    # on the shutdown above, but only if the socket is still open when it looks. Let it see
    # that before gunicorn closes the socket: a process does not exit while it sleeps.
    reader = getattr(ws, "thread", None)
    if reader is not None:
        reader.join(timeout=2)


def _send(ws, render: Callable[[], str | None]) -> None:
    try:
        message = render()
    finally:
        db.session.remove()
    if message:
        ws.send(message)


@dataclass(frozen=True)
class LiveScreen:
    """What a live staff screen shows over its socket, declared by the screen's module; this
    module only carries it.

    ``render(shop)`` returns the screen's live regions as out-of-band fragments, from the
    database as it is now; it reads no view state (no ``g``), only the socket's request
    context (translations, CSRF fields). It is sent on connect, and again after every event
    of the shop whose kind is in ``kinds`` (None: every event but an access change). With
    ``shared``, one render per event serves every socket of the shop in this process; without,
    each socket renders its own (forms that carry the device's CSRF token).

    ``view`` (optional) reads the socket's view from its handshake request (the kitchen: one
    station, or all); it may abort (404). Then ``render(shop, view)`` draws that view, and
    shared renders are per view. ``delta`` (optional): ``delta(shop, event, view)`` is sent
    for an event in place of the full ``render``, with only what the event changed; the full
    render is still sent on connect and after the socket fell behind (overflow)."""

    screen: str  # who may open it: services.auth.can_use(role, screen)
    render: Callable[..., Markup]
    kinds: frozenset[str] | None = None
    shared: bool = False
    delta: Callable[[Shop, Event, str], Markup | None] | None = None
    view: Callable[[], str] | None = None

    def wants(self, ev: Event) -> bool:
        """Whether an event of the shop changes what the screen shows."""
        return self.kinds is None or ev.kind in self.kinds


def add_staff_socket(bp: Blueprint, live: LiveScreen) -> None:
    """``<blueprint prefix>/ws`` for a live staff screen: refused before the handshake unless
    a staff member of THIS shop with access to ``live.screen`` is signed in (and the page is
    of this site), then served as ``live`` declares, while the sign-in holds."""
    from shopqr.staff.auth import SESSION_KEY, current_staff

    endpoint = f"{bp.name}.socket"
    screen = live.screen

    @bp.before_request
    def _refuse_unauthorized_socket() -> None:
        if request.endpoint == endpoint:
            if not same_origin(request.headers.get("Origin")):
                abort(403)  # another site's page riding on the staff cookie
            user = current_staff(g.shop, touch=False)
            if user is None or not can_use(user.role, screen):
                abort(403)
            g.staff = user
            g.staff_sid = session[SESSION_KEY]["sid"]
            g.live_view = live.view() if live.view is not None else None

    @sock.route("/ws", bp=bp, endpoint="socket")
    def socket(ws) -> None:
        shop_id, user_id, sid, view = g.shop.id, g.staff.id, g.staff_sid, g.live_view
        locale = str(get_locale())  # a shared render is in one language: share per language
        db.session.remove()

        def snapshot() -> str:
            shop = db.session.get(Shop, shop_id)
            return str(live.render(shop) if view is None else live.render(shop, view))

        def on_event(ev: Event) -> str | None:
            if not live.wants(ev):
                return None
            if live.delta is None:
                return snapshot()
            delta = live.delta(db.session.get(Shop, shop_id), ev, view or "")
            return None if delta is None else str(delta)

        def allowed() -> bool:
            staff = logins.live_user(db.session, sid, "staff", shop_id)
            return bool(staff and staff.id == user_id and not staff.locked_at
                        and can_use(staff.role, screen))

        serve_socket(ws, shop_id, snapshot, on_event, allowed,
                     share_key=f"{bp.name}:{shop_id}:{view}:{locale}" if live.shared else None,
                     user_id=user_id)


def same_origin(origin: str | None) -> bool:
    """True unless the request comes from a page of another site. Browsers send Origin with
    every websocket handshake; a client without one (no browser) carries no victim's cookie."""
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.host.lower()
