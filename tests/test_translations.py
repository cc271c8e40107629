"""The Khmer catalog is complete, compiled and current; the guest pages use it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import KHMER_PO
from tests.factories import make_product, make_shop, make_table

ROOT = Path(__file__).resolve().parents[1]
MO = KHMER_PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def catalog():
    with KHMER_PO.open("rb") as f:
        return read_po(f, locale="km")


def test_every_message_has_a_khmer_translation_with_the_same_placeholders():
    entries = [m for m in catalog() if m.id]
    assert len(entries) > 100
    for message in entries:
        assert message.string, f"untranslated: {message.id!r} (run scripts/i18n.sh)"
        assert "fuzzy" not in message.flags, message.id
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)), message.id


def test_compiled_catalog_matches_the_po_file():
    with MO.open("rb") as f:
        compiled = {(m.context, m.id): m.string for m in read_mo(f) if m.id}
    with KHMER_PO.open("rb") as f:  # (one msgid may have several contexts: "Clear")
        source = {(m.context, m.id): m.string for m in read_po(f, locale="km") if m.id}
    assert compiled == source, "the .mo is stale: run scripts/i18n.sh"


def test_every_string_in_the_code_is_in_the_catalog(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
                    "-k", "_l", "-o", str(pot), "."], cwd=ROOT, check=True,
                   capture_output=True)
    with pot.open("rb") as f:
        extracted = {(m.context, m.id) for m in read_po(f) if m.id}
    with KHMER_PO.open("rb") as f:
        translated = {(m.context, m.id) for m in read_po(f, locale="km") if m.id and m.string}
    missing = extracted - translated
    assert not missing, f"not in the Khmer catalog (run scripts/i18n.sh): {sorted(missing)}"


def test_menu_in_khmer(client, app, ctx, khmer):
    shop = make_shop()
    table = make_table(shop)
    make_product(shop, "Latte", is_available=False)
    client.get(f"/s/{shop.slug}/t/{table.qr_token}")
    client.set_cookie("shopqr_lang", "km")
    page = client.get(f"/s/{shop.slug}/menu").text
    assert '<html lang="km">' in page
    assert khmer["Sold out"] in page and khmer["View cart"] in page
    assert "Sold out" not in page
