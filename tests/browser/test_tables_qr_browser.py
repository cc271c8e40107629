"""Tables and QR in Chromium, the owner at a desktop and on a 1024×768 tablet
(docs/tables-and-qr.md): a bad logo file says why and a good one shows; each table's QR preview
loads and its PNG and SVG download under the table's name, the PNG holding the code of the URL
the sheet prints; a row's actions ("Open as a guest" with the buttons) are one aligned group at
1024 px and at 390 px, in Khmer too; the sheet has the logo on every card, a print button that
opens the print dialog, a back link, and prints without its toolbar; the receipt shows the logo
in grey tones."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from shopqr.extensions import db
from tests.browser.conftest import PHONE
from tests.factories import make_order, make_product, make_shop, make_table
from tests.settings.test_counter_qr import find_code
from tests.settings.test_settings_pages import PASSWORD, make_owner

pytestmark = [pytest.mark.browser, pytest.mark.live]

DESKTOP = {"width": 1440, "height": 900}
TABLET = {"width": 1024, "height": 768}
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def logo_png() -> bytes:
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    image.paste((20, 90, 160, 255), (40, 40, 560, 160))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def loaded(page: Page, selector: str) -> None:
    """Every image matching ``selector`` has loaded (lazy ones are scrolled to first)."""
    for image in page.locator(selector).all():
        image.scroll_into_view_if_needed()
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].every(i => i.complete && i.naturalWidth > 0)",
        arg=selector)


def action_lines(group) -> list[list[dict]]:
    """The group's links and buttons, as lines of boxes (top to bottom)."""
    boxes = group.locator(":scope > a, :scope > form > button").evaluate_all(
        """els => els.map(e => { const r = e.getBoundingClientRect();
             return {name: e.textContent.trim(), top: r.top, bottom: r.bottom, left: r.left,
                     right: r.right}; })""")
    lines: list[list[dict]] = []
    for box in sorted(boxes, key=lambda b: (round(b["top"]), b["left"])):
        if lines and abs(lines[-1][0]["top"] - box["top"]) < 1:
            lines[-1].append(box)
        else:
            lines.append([box])
    return lines


def assert_aligned(group, width: int) -> list[list[dict]]:
    """One button group: every item at least 44 px tall, the items of a line share their top
    and bottom edges, none overlaps the next, and the group fits the viewport."""
    lines = action_lines(group)
    for line in lines:
        for box in line:
            assert box["bottom"] - box["top"] >= 44, box
            assert abs(box["top"] - line[0]["top"]) < 1, line
            assert abs(box["bottom"] - line[0]["bottom"]) < 1, line
            assert box["right"] <= width, box
        for left, right in zip(line, line[1:], strict=False):
            assert left["right"] <= right["left"], line
    return lines


def test_owner_tables_and_qr(browser: Browser, app, ctx, live_server, shot):
    shop = make_shop("qr-browser", name="QR Browser Cafe")
    owner = make_owner(shop)
    five, window = make_table(shop, "Table 5"), make_table(shop, "Window")
    paid = make_order(shop, make_product(shop, "Iced Tea", "1.50"), paid=True)
    slug, email, receipt_token = shop.slug, owner.email, paid.public_token
    five_id, five_token, window_id = five.id, five.qr_token, window.id
    db.session.commit()
    base = live_server.url
    settings = f"{base}/s/{slug}/settings"

    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{settings}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/settings/$"))

    # The logo, under Overview → Shop profile: an SVG is refused with its reason, a PNG shows.
    field = page.get_by_label("Logo image")
    field.set_input_files({"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": SVG})
    with page.expect_navigation() as refused:
        page.get_by_role("button", name="Upload the logo").click()
    assert refused.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("SVG files cannot be uploaded")
    page.get_by_label("Logo image").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()})
    page.get_by_role("button", name="Upload the logo").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.get_by_role("img", name="Your logo")).to_be_visible()
    loaded(page, ".logo-preview")
    expect(page.get_by_role("button", name="Replace the logo")).to_be_visible()
    shot(page, "settings-logo")

    # Tables: each row's preview loads; the downloads are named after the table and the PNG
    # holds the code of the URL the sheet prints.
    page.goto(f"{settings}/tables")
    loaded(page, ".qr-thumb")
    row = page.locator(f"#settings-table-{five_id}")
    expect(row.get_by_role("img", name="QR code of Table 5")).to_be_visible()
    with page.expect_download() as png:
        row.get_by_role("link", name="Download PNG: QR code of Table 5").click()
    assert png.value.suggested_filename == "table-5.png"
    assert find_code(Path(png.value.path()).read_bytes(), f"{base}/s/{slug}/t/{five_token}")
    with page.expect_download() as svg:
        row.get_by_role("link", name="Download SVG: QR code of Table 5").click()
    assert svg.value.suggested_filename == "table-5.svg"
    assert b"<svg" in Path(svg.value.path()).read_bytes()

    # "Open as a guest" lines up with the row's buttons: one group, one line at desktop and
    # tablet widths, aligned lines on a phone (in Khmer, the longest labels), nothing wider
    # than the screen.
    for size in (DESKTOP, TABLET):
        page.set_viewport_size(size)
        for table_id in (five_id, window_id):
            lines = assert_aligned(page.locator(f"#settings-table-{table_id} .row-actions"),
                                   size["width"])
            assert len(lines) == 1, lines
            assert lines[0][0]["name"] == "Open as a guest"
        assert_aligned(page.locator("#counter-qr .btn-group"), size["width"])
    shot(page, "tables-qr-tablet")
    page.context.add_cookies([{"name": "shopqr_lang", "value": "km", "url": base}])
    page.set_viewport_size(PHONE)
    page.reload()
    loaded(page, ".qr-thumb")
    lines = assert_aligned(page.locator(f"#settings-table-{five_id} .row-actions"),
                           PHONE["width"])
    assert len(lines) >= 2  # five buttons wrap on a phone, each line still aligned
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "tables-qr-km-phone")
    page.context.clear_cookies(name="shopqr_lang")
    page.set_viewport_size(TABLET)
    page.reload()

    # The sheet (a new tab): the logo on every card, the counter's first; Print opens the
    # print dialog; printed, the toolbar is gone; the back link returns to the tables.
    with context.expect_page() as opened:
        page.get_by_role("link", name="Print QR codes (A4)").click()
    sheet = opened.value
    sheet.set_viewport_size(TABLET)
    sheet.wait_for_load_state()
    expect(sheet.locator(".qr-card")).to_have_count(3)
    expect(sheet.locator(".qr-card").first).to_have_id("qr-counter")
    expect(sheet.locator(".qr-card .qr-logo")).to_have_count(3)
    loaded(sheet, ".qr-logo")
    shot(sheet, "qr-sheet-tablet")
    sheet.evaluate("() => { window.print = () => { window.printed = (window.printed || 0) + 1 } }")
    sheet.get_by_role("button", name="Print").click()
    assert sheet.evaluate("window.printed") == 1
    sheet.emulate_media(media="print")
    expect(sheet.get_by_role("button", name="Print")).to_be_hidden()
    expect(sheet.get_by_role("link", name="Back to Tables & QR")).to_be_hidden()
    expect(sheet.locator(f"#qr-{window_id} svg")).to_be_visible()
    expect(sheet.locator(f"#qr-{window_id} .qr-logo")).to_be_visible()
    sheet.emulate_media(media="screen")
    sheet.get_by_role("link", name="Back to Tables & QR").click()
    expect(sheet).to_have_url(f"{settings}/tables")

    # The receipt shows the logo above the shop's name, grey, within the roll's width.
    page.goto(f"{base}/s/{slug}/orders/{receipt_token}/receipt")
    logo = page.locator(".receipt-head .receipt-logo")
    loaded(page, ".receipt-logo")
    assert logo.evaluate("e => getComputedStyle(e).filter") == "grayscale(1)"
    head = page.locator(".receipt-head").bounding_box()
    box = logo.bounding_box()
    assert box["width"] <= head["width"] * 0.6 + 1 and box["y"] < page.locator(
        ".receipt-shop").bounding_box()["y"]
    page.emulate_media(media="print")
    expect(logo).to_be_visible()
    context.close()
