"""The kitchen board in Chromium: a two-station kitchen, per-card updates that end with the
same board as a fresh load, sound remembered on the device, and taps held back offline."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shopqr import lifecycle
from shopqr.extensions import db
from shopqr.models import Category, Order, Station, User, utcnow
from shopqr.services import kitchen as kitchen_service
from shopqr.services.checkout import OrderItem, create_order
from shopqr.services.events import Event, get_bus, publish_after_commit
from tests.browser.conftest import sign_in
from tests.conftest import LiveServer
from tests.factories import make_product, make_shop, make_staff, make_table

DESKTOP = {"width": 1280, "height": 800}

# The board as a user sees it, minus what depends on the clock or on the page's own history
# (ages, their colours, the new-card flash).
NORMALIZED_BOARD = """() => {
  const board = document.getElementById('kitchen-board').cloneNode(true);
  board.querySelectorAll('.age-value').forEach(e => { e.textContent = ''; });
  board.querySelectorAll('.kitchen-card').forEach(e => e.classList.remove('flash', 'slow', 'late'));
  board.querySelectorAll('[aria-disabled]').forEach(e => e.removeAttribute('aria-disabled'));
  board.removeAttribute('hx-swap-oob');
  return board.outerHTML.replace(/>\\s+</g, '><').replace(/\\s+/g, ' ');
}"""


# Text whose contrast with its background is under 4.5:1 (WCAG AA), as "text: ratio".
LOW_CONTRAST = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  document.querySelectorAll('body *').forEach(el => {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.offsetParent) return;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(el.textContent.trim().slice(0, 30) + ': ' + ratio.toFixed(2));
  });
  return low;
}"""


def stations_shop(slug: str):
    shop = make_shop(slug, name="Station Cafe")
    make_staff(shop, "barista", "271828", name="Vanna")
    make_staff(shop, "cashier", "481516", name="Dara")
    bar, kitchen = Station(shop_id=shop.id, name="Bar"), Station(shop_id=shop.id, name="Kitchen")
    drinks, food = Category(shop_id=shop.id, name="Drinks"), Category(shop_id=shop.id, name="Food")
    db.session.add_all([bar, kitchen, drinks, food])
    db.session.flush()
    drinks.station_id, food.station_id = bar.id, kitchen.id
    products = [make_product(shop, "Iced Latte", category=drinks),
                make_product(shop, "Lime Soda", category=drinks),
                make_product(shop, "Fried Rice", category=food),
                make_product(shop, "Noodle Soup", category=food)]
    db.session.commit()
    return shop, bar, kitchen, products


def pay(app, shop, items, *, table=None, pos=False) -> Order:
    """An order paid and sent to the kitchen, with its event, as the POS or poller does."""
    order = create_order(db.session, shop, items=[OrderItem(p, [], q) for p, q in items],
                         method="cash", key=None, table=table)
    order.payment_status, order.kitchen_status, order.paid_at = "paid", "queued", utcnow()
    if pos:
        order.source = "pos"
    publish_after_commit(db.session, get_bus(app), Event(shop.id, "order.paid",
                                                         {"order_id": order.id}))
    db.session.commit()
    return order


def pick_station(page, name: str) -> None:
    page.locator(".station-picker a", has_text=name).click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")


@pytest.mark.browser
@pytest.mark.live
def test_a_two_station_kitchen(app, ctx, browser, live_server, shot):
    shop, bar, kitchen, (latte, soda, rice, soup) = stations_shop("two-stations")
    base = live_server.url
    bar_page = browser.new_context(viewport=DESKTOP).new_page()
    food_page = browser.new_context(viewport=DESKTOP).new_page()
    try:
        for page, station in ((bar_page, "Bar"), (food_page, "Kitchen")):
            sign_in(page, base, shop.slug, "Vanna", "271828")
            pick_station(page, station)
        order = pay(app, shop, [(latte, 2), (rice, 1)], table=make_table(shop, "5"))
        card = f"#kitchen-order-{order.id}"
        for page, mine, theirs in ((bar_page, "Iced Latte", "Fried Rice"),
                                   (food_page, "Fried Rice", "Iced Latte")):
            expect(page.locator("#new-order-banner")).to_have_text("New order: Table 5!")
            expect(page.locator(card)).to_contain_text(mine)
            expect(page.locator(card)).not_to_contain_text(theirs)
            expect(page.locator("#kitchen-summary .all-day")).to_contain_text(mine)
        shot(bar_page, "kitchen-station-bar")
        # the bar finishes its part: the order waits for the kitchen
        bar_page.locator(card).get_by_role("button", name="Done: Bar").click()
        expect(bar_page.locator(card)).to_contain_text("Our part is done")
        expect(food_page.locator(f"{card} .status-pill")).to_have_text("Queued")
        # the kitchen ticks its line: every station is done, the order is ready everywhere
        food_page.locator(card).get_by_role("button", name=re.compile("Fried Rice")).click()
        for page in (bar_page, food_page):
            expect(page.locator(f"{card} .status-pill")).to_have_text("Ready")
        shot(food_page, "kitchen-station-ready")
        # the choice of station is remembered on the device
        bar_page.goto(f"{base}/s/{shop.slug}/kitchen/")
        expect(bar_page).to_have_url(re.compile(rf"station={bar.id}"))
        bar_page.locator(".station-picker a", has_text="All stations").click()
        expect(bar_page.locator(card)).to_contain_text("Iced Latte")
        expect(bar_page.locator(card)).to_contain_text("Fried Rice")
        bar_page.goto(f"{base}/s/{shop.slug}/kitchen/")
        expect(bar_page.locator(".station-picker a[aria-current=page]")).to_have_text(
            "All stations")
        expect(bar_page).not_to_have_url(re.compile(r"station="))
        # tap targets of 44 px or more on the board
        small = bar_page.evaluate("""() => Array.from(document.querySelectorAll(
            '#kitchen-board button, .station-picker a')).filter(b => {
              const r = b.getBoundingClientRect(); return r.height < 44; }).length""")
        assert small == 0
        assert bar_page.evaluate(LOW_CONTRAST) == []
        bar_page.locator(f"{card} .card-advance").click()  # served: into the recall list
        expect(bar_page.locator("#kitchen-recall li")).to_have_count(1)
        assert bar_page.evaluate(LOW_CONTRAST) == []
        # in Khmer: statuses, labels and the new strings
        bar_page.context.add_cookies([{"name": "shopqr_lang", "value": "km", "url": base}])
        food_page.context.add_cookies([{"name": "shopqr_lang", "value": "km", "url": base}])
        food_page.reload()
        bar_page.reload()
        expect(bar_page.locator("#kitchen-summary h2")).to_have_text("សរុបត្រូវធ្វើ")
        expect(bar_page.locator("#kitchen-recall li")).to_contain_text("តុ 5")
        expect(bar_page.locator("#kitchen-recall .recall")).to_have_text("ហៅមកវិញ")
        second = pay(app, shop, [(soda, 1), (soup, 1)], pos=True)
        expect(bar_page.locator("#new-order-banner")).to_have_text(
            f"ការកុម្ម៉ង់ថ្មី៖ បញ្ជរ #{second.seq}!")
        expect(food_page.locator(f"#kitchen-order-{second.id} .status-pill")).to_have_text(
            "ជួររង់ចាំ")
        assert bar_page.evaluate(LOW_CONTRAST) == []
        shot(food_page, "kitchen-station-khmer")
        shot(bar_page, "kitchen-all-stations", phone_too=True)
    finally:
        bar_page.context.close()
        food_page.context.close()


@pytest.mark.browser
@pytest.mark.live
def test_a_screen_applying_only_deltas_ends_with_the_board_of_a_fresh_load(
        app, ctx, browser, live_server, shot):
    shop, bar, kitchen, products = stations_shop("delta-cafe")
    tables = [make_table(shop, str(n)) for n in range(1, 7)]
    bus = get_bus(app)
    base = live_server.url
    watched = {}
    frames: dict[str, list[str]] = {}
    resyncs: list[str] = []
    for view, station in (("all", "All stations"), ("bar", "Bar")):
        page = browser.new_context(viewport=DESKTOP).new_page()
        frames[view] = []
        page.on("websocket", lambda ws, view=view: ws.on(
            "framereceived", lambda payload, view=view: frames[view].append(str(payload))))
        page.on("request", lambda request: resyncs.append(request.url)
                if "/kitchen/board" in request.url else None)
        sign_in(page, base, shop.slug, "Vanna", "271828")
        pick_station(page, station)
        watched[view] = page
    for page in watched.values():  # the snapshot after the station was picked
        page.wait_for_timeout(300)
    fresh = {}  # reloaded at each checkpoint: what a fresh load shows
    for view, station in (("all", "All stations"), ("bar", "Bar")):
        fresh[view] = browser.new_context(viewport=DESKTOP).new_page()
        sign_in(fresh[view], base, shop.slug, "Vanna", "271828")
        pick_station(fresh[view], station)

    def same_as_a_fresh_load() -> None:
        for view, page in watched.items():
            fresh[view].reload()
            expect(fresh[view].locator("#connection")).to_have_attribute("data-state", "online")
            assert page.evaluate(NORMALIZED_BOARD) == fresh[view].evaluate(NORMALIZED_BOARD), \
                view

    start = {view: len(f) for view, f in frames.items()}
    expected_full = 0
    sent = 0
    rng = random.Random(1414)
    events = bus.subscribe(shop.id)

    def count_events() -> int:
        n = 0
        while (ev := events.get(timeout=0.01)) is not None:
            n += ev.kind in ("order.paid", "order.status", "order.flagged")
        return n

    def settle() -> None:
        for view, page in watched.items():
            for _ in range(300):
                if len(frames[view]) - start[view] >= sent:
                    break
                page.wait_for_timeout(20)
            assert len(frames[view]) - start[view] == sent, (view, sent)

    try:
        for step in range(80):
            if step % 10 == 9:
                same_as_a_fresh_load()
            db.session.expire_all()
            board = kitchen_service.board(db.session, shop)
            moves = ["pay"] * 3
            if board.rail:
                moves += ["advance"] * 3 + ["tick"] * 2 + ["back", "station"]
            if board.served:
                moves += ["recall_one", "recall_last"]
            move = rng.choice(moves)
            staff_user = db.session.scalar(db.select(User).where(User.shop_id == shop.id))
            now = utcnow()
            if move == "pay":
                items = [(p, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(1, 3))]
                pay(app, shop, items, table=rng.choice([None, *tables]), pos=rng.random() < .3)
            elif move == "advance":
                order = rng.choice(board.rail)
                kitchen_service.advance(db.session, bus, shop, order.id, by=staff_user, now=now)
            elif move == "back":
                order = rng.choice(board.rail)
                if order.kitchen_status == "queued":
                    continue
                kitchen_service.step_back(db.session, bus, shop, order.id, by=staff_user, now=now)
            elif move == "tick":
                order = rng.choice(board.rail)
                if order.kitchen_status not in ("queued", "preparing"):
                    continue
                line = rng.choice(order.lines)
                kitchen_service.toggle_line(db.session, bus, shop, line.id, by=staff_user, now=now)
            elif move == "station":
                order = rng.choice(board.rail)
                if order.kitchen_status not in ("queued", "preparing"):
                    continue
                kitchen_service.finish_station(db.session, bus, shop, order.id,
                                               station=rng.choice([bar, kitchen]),
                                               by=staff_user, now=now)
            elif move == "recall_one":
                order = rng.choice(board.served)
                kitchen_service.step_back(db.session, bus, shop, order.id, by=staff_user,
                                          now=now, expect="served")
                expected_full += 1
            else:
                kitchen_service.recall_last_served(db.session, bus, shop, by=staff_user, now=now)
                expected_full += 1
            db.session.commit()
            sent += count_events()
            settle()
        assert sent > 40 and expected_full > 0
        same_as_a_fresh_load()
        for view, page in watched.items():
            full = sum('id="kitchen-board"' in f for f in frames[view][start[view]:])
            # only deltas, but where a served order came back (undo, recall)
            assert full == expected_full, (view, full, expected_full)
            assert page.locator("#kitchen-rail .kitchen-card").count() > 0
        assert resyncs == []
        shot(watched["all"], "kitchen-after-deltas")
    finally:
        events.close()
        for page in [*watched.values(), *fresh.values()]:
            page.context.close()


@pytest.mark.browser
@pytest.mark.live
def test_sound_is_remembered_and_taps_wait_while_offline(app, ctx, browser, shot):
    shop, _, _, (latte, _, rice, _) = stations_shop("offline-cafe")
    order = pay(app, shop, [(latte, 1)])
    # the shop's late minutes: yellow after 1, red after 2 (the card was paid 90 s ago)
    shop.kitchen_warn_minutes, shop.kitchen_late_minutes = 1, 2
    order.paid_at = utcnow() - timedelta(seconds=90)
    db.session.commit()
    server = LiveServer(app).start()
    app.config["PUBLIC_BASE_URL"] = server.url
    port = server.port
    page = browser.new_context(viewport=DESKTOP).new_page()
    try:
        sign_in(page, server.url, shop.slug, "Vanna", "271828")
        expect(page.locator(f"#kitchen-order-{order.id}")).to_have_class(re.compile(r"\bslow\b"))
        expect(page.locator(f"#kitchen-order-{order.id} .age-value")).to_have_text("1")
        toggle = page.locator("#sound-toggle")
        expect(toggle).to_have_text("Tap to enable sound")
        toggle.click()
        expect(toggle).to_have_text("Sound on")
        page.reload()
        expect(page.locator("#sound-toggle")).to_have_text("Sound on")
        expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#connection")).to_have_attribute("data-state", "online")
        # the server goes away: the board's buttons are disabled, and a tap says why
        lifecycle.begin_shutdown()
        expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
        server.stop()
        # still "stopping" until the server comes back: a reconnect the old server accepted
        # just before it stopped is closed at once instead of bringing the screen back online
        start = page.locator(f"#kitchen-order-{order.id} .card-advance")
        expect(start).to_have_attribute("aria-disabled", "true")
        start.click(force=True)  # aria-disabled: Playwright would wait for it to be enabled
        expect(page.locator("#offline-notice")).to_be_visible()
        expect(page.locator("#offline-notice")).to_contain_text("Offline")
        shot(page, "kitchen-offline")
        db.session.expire_all()
        assert db.session.get(Order, order.id).kitchen_status == "queued"
        # paid meanwhile; the server comes back: the board resyncs
        later = pay(app, shop, [(rice, 2)], pos=True)
        lifecycle.reset_for_tests()
        server = LiveServer(app, port=port).start()
        expect(page.locator("#connection")).to_have_attribute("data-state", "online",
                                                              timeout=10_000)
        expect(page.locator(f"#kitchen-order-{later.id}")).to_contain_text(
            f"Counter #{later.seq}")
        expect(start).not_to_have_attribute("aria-disabled", "true")
        expect(page.locator("#offline-notice")).to_be_hidden()
    finally:
        page.context.close()
        server.stop()
        lifecycle.reset_for_tests()
