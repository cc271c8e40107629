"""Text typed by guests and staff: control characters (NUL, escape, ...) and bidi controls
(which reorder what the kitchen screen shows around them) never reach the database or a
screen; Khmer, with its zero-width space and joiners, is stored exactly as typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import (
    AuditLog,
    CartItem,
    Category,
    Option,
    OptionGroup,
    Order,
    Product,
    Shop,
    ShopTable,
    Transaction,
    User,
    utcnow,
)
from shopqr.services import DomainError, cart, pos, shops
from shopqr.services.shops import add_staff
from tests.factories import (
    make_cafe,
    make_order,
    make_shop,
    make_staff,
    make_table,
    sign_in_staff,
)

# What a note can carry: NUL, an escape sequence, DEL and C1 controls, and every kind of bidi
# control (embeddings, overrides, isolates, marks).
DIRTY = ("no\x00 ice\x7f \u202eplease\u202c \u2066x\u2069\u200e\u200f\u061c"
         "\u202a\u202b\u202d \u2067y\u2068\u2069\x85z\x9f \x1b[31mred")
CLEAN = "no ice please x y z [31mred"
BAD = ["\x00", "\x1b", "\x7f", "\x85", "\x9f", "\u061c", "\u200e", "\u200f",
       *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
# Khmer words separated by zero-width spaces, with a zero-width non-joiner and joiner and
# combining vowel signs and COENG (subscript consonants).
KHMER = "ទឹក\u200bកក\u200cតិច\u200b ស្ករ\u200dកន្លះ"
PASSWORD = "correct-horse-battery"


def assert_clean(text: str | None) -> None:
    assert text is not None
    for char in BAD:
        assert char not in text, (hex(ord(char)), text)


@pytest.fixture
def cafe(app, ctx):
    return make_cafe("text-cafe", "Text Cafe", "Table 1")


def seated(app, shop, table):
    phone = app.test_client()
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    return phone


def kitchen_board(app, shop) -> str:
    barista = app.test_client()
    sign_in_staff(barista, make_staff(shop, "barista", "271828"), "271828")
    return barista.get(f"/s/{shop.slug}/kitchen/").text


def pay(order_id: int) -> None:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    order.payment_status, order.kitchen_status = "paid", "queued"
    order.paid_at = utcnow()
    db.session.commit()


def test_guest_notes_are_stored_and_shown_on_the_kitchen_board_without_controls(app, cafe):
    shop, table, latte, cake = cafe
    phone = seated(app, shop, table)
    assert phone.post(f"/s/{shop.slug}/cart/items",
                      data={"product_id": latte.id, "note": DIRTY}).status_code == 303
    assert phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": cake.id}).status_code == 303
    cake_line = db.session.scalar(select(CartItem).where(CartItem.product_id == cake.id))
    assert phone.post(f"/s/{shop.slug}/cart/items/{cake_line.id}/note",
                      data={"note": "warm\u202e it\x00 up"}).status_code == 303
    placed = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "text-key-00000001", "note": f"order {DIRTY}"})
    assert placed.status_code == 303
    order = db.session.scalar(select(Order))
    assert [line.note for line in order.lines] == [CLEAN, "warm it up"]
    assert order.note == f"order {CLEAN}"
    pay(order.id)
    board = kitchen_board(app, shop)
    assert f"“{CLEAN}”" in board and "“warm it up”" in board and f"“order {CLEAN}”" in board
    assert_clean(board)


def test_khmer_text_is_kept_exactly(app, cafe):
    shop, table, latte, _ = cafe
    phone = seated(app, shop, table)
    assert phone.post(f"/s/{shop.slug}/cart/items",
                      data={"product_id": latte.id, "note": f"  {KHMER}\u202e "}).status_code == 303
    placed = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "khmer-key-0000001", "note": KHMER})
    assert placed.status_code == 303
    order = db.session.scalar(select(Order))
    assert order.lines[0].note == KHMER and order.note == KHMER
    assert "\u200b" in KHMER and "\u200c" in KHMER and "\u200d" in KHMER
    pay(order.id)
    assert f"“{KHMER}”" in kitchen_board(app, shop)


@pytest.mark.parametrize("note", ["\u202e", "\x00\x00", "\u2066\u2069 \u200f"])
def test_a_note_of_only_controls_is_no_note(app, cafe, note):
    shop, table, latte, _ = cafe
    phone = seated(app, shop, table)
    phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": latte.id, "note": note})
    assert db.session.scalar(select(CartItem.note)) is None


def test_a_newline_in_a_note_becomes_a_space(app, cafe):
    shop, table, latte, _ = cafe
    seated(app, shop, table).post(f"/s/{shop.slug}/cart/items", data={
        "product_id": latte.id, "note": "less\r\nsugar\tplease\u2028now"})
    assert db.session.scalar(select(CartItem.note)) == "less sugar please now"


def test_the_200_character_limit_counts_the_cleaned_note(app, cafe):
    shop, table, latte, _ = cafe
    phone = seated(app, shop, table)
    fine = phone.post(f"/s/{shop.slug}/cart/items",
                      data={"product_id": latte.id, "note": "n" * 200 + "\u202e" * 50})
    assert fine.status_code == 303
    assert db.session.scalar(select(CartItem.note)) == "n" * 200


# --- the cashier ------------------------------------------------------------------------------

@pytest.fixture
def cashier(app, cafe):
    shop = cafe[0]
    client = app.test_client()
    sign_in_staff(client, make_staff(shop, "cashier", "246802"), "246802")
    return client


def test_pos_ticket_notes_are_cleaned(app, cafe, cashier):
    shop, _, latte, _ = cafe
    assert cashier.post(f"/s/{shop.slug}/pos/ticket/items",
                        data={"product_id": latte.id, "note": DIRTY}).status_code == 303
    placed = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout", data={
        "method": "cash", "checkout_key": "pos-text-key-00001", "note": f"{KHMER}\x00"})
    assert placed.status_code == 303
    order = db.session.scalar(select(Order))
    assert order.lines[0].note == CLEAN and order.note == KHMER


def test_void_and_resolve_reasons_are_cleaned(app, cafe, cashier):
    shop, _, latte, _ = cafe
    voided = make_order(shop, latte)
    paid = make_order(shop, latte, paid=True)
    now = utcnow()
    second = Transaction(  # a KHQR payment that came after the cashier took cash
        shop_id=shop.id, order_id=paid.id, md5="e" * 32, qr_string="khqr", amount=paid.total,
        currency=paid.currency, bill_number=paid.number, to_account="x@aclb", status="paid",
        expires_at=now, give_up_at=now, paid_at=now, bakong_hash="h1", attention="due",
        attention_kind="cash", attention_reason="late payment")
    db.session.add(second)
    db.session.commit()
    refused = cashier.post(f"/s/{shop.slug}/pos/orders/{voided.id}/cancel",
                           data={"reason": "\u202e\x00 \u2066\u2069"})
    assert refused.status_code == 422 and "Give a reason." in refused.text
    assert cashier.post(f"/s/{shop.slug}/pos/orders/{voided.id}/cancel",
                        data={"reason": f"guest left {DIRTY}"}).status_code == 303
    assert cashier.post(f"/s/{shop.slug}/pos/payments/{second.id}/resolve",
                        data={"action": "refunded", "note": f"checked\u202e {KHMER}"}
                        ).status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, voided.id).cancel_reason == f"guest left {CLEAN}"
    assert db.session.get(Transaction, second.id).resolution_note == f"checked {KHMER}"
    details = db.session.scalars(select(AuditLog.detail).where(
        AuditLog.action.in_(("pos.void", "payment.refunded")))).all()
    assert f"guest left {CLEAN}" in details
    assert any(d.endswith(f"late payment | checked {KHMER}") for d in details)


def test_services_clean_reasons_and_notes():
    assert pos.clean_reason(f" {DIRTY} ") == CLEAN
    assert cart.clean_note(DIRTY) == CLEAN
    with pytest.raises(DomainError, match="Give a reason"):
        pos.clean_reason("\u202e\u2066")


# --- the owner's settings ---------------------------------------------------------------------

@pytest.fixture
def owner(app, ctx):
    shop = make_shop("text-owned")
    user = add_staff(db.session, shop, name="Owner", role="owner", pin="135790",
                     email="owner@text-owned.example", password=PASSWORD)
    db.session.commit()
    client = app.test_client()
    assert client.post(f"/s/{shop.slug}/settings/login",
                       data={"email": user.email, "password": PASSWORD}).status_code == 303
    return shop, client


def test_menu_texts_are_cleaned(app, owner):
    shop, client = owner
    base = f"/s/{shop.slug}/settings/menu"
    assert client.post(f"{base}/categories", data={
        "name": f"Drinks\u202e{DIRTY}", "name_km": "ភេសជ្ជៈ\u2066"}).status_code == 303
    category = db.session.scalar(select(Category))
    assert client.post(f"{base}/products", data={
        "name": "\u202eLatte\x00", "name_km": f"{KHMER}\u202c", "price": "2.50",
        "category_id": str(category.id),
        "description": "Line one\x00\u202e\r\nLine two\u2069\tend",
        "description_km": f"{KHMER}\n\u202e{KHMER}"}).status_code == 303
    product = db.session.scalar(select(Product))
    assert client.post(f"{base}/products/{product.id}/groups",
                       data={"name": "Size\u202e\x00"}).status_code == 303
    group = db.session.scalar(select(OptionGroup))
    assert client.post(f"{base}/groups/{group.id}/options",
                       data={"name": "\u2066Large\u2069", "extra": "0.50"}).status_code == 303
    db.session.expire_all()
    category = db.session.scalar(select(Category))
    assert category.name == f"Drinks{CLEAN}" and category.name_km == "ភេសជ្ជៈ"
    product = db.session.scalar(select(Product))
    assert product.name == "Latte" and product.name_km == KHMER
    assert product.description == "Line one\nLine two end"  # descriptions keep their lines
    assert product.description_km == f"{KHMER}\n{KHMER}"
    assert db.session.scalar(select(OptionGroup.name)) == "Size"
    assert db.session.scalar(select(Option.name)) == "Large"


@pytest.mark.parametrize("name", ["\u202e", "\x00 \u2066\u2069", "\u200f\r\n"])
def test_a_name_of_only_controls_is_missing(app, owner, name):
    shop, client = owner
    response = client.post(f"/s/{shop.slug}/settings/menu/products",
                           data={"name": name, "price": "1"})
    assert response.status_code == 422 and "Name is required." in response.text
    assert db.session.scalar(select(Product)) is None


def test_table_and_staff_names_are_cleaned(app, owner):
    shop, client = owner
    base = f"/s/{shop.slug}/settings"
    added = client.post(f"{base}/tables/add", data={"name": "\u202eTerrace\x00 1"})
    assert added.status_code == 303
    table = db.session.scalar(select(ShopTable))
    assert table.name == "Terrace 1"
    assert client.post(f"{base}/tables/{table.id}",
                       data={"name": "\u2066តុ ១\u2069\n"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(ShopTable, table.id).name == "តុ ១"
    other = make_table(shop, "Garden")
    clash = client.post(f"{base}/tables/{other.id}", data={"name": "\u202eតុ ១"})
    assert clash.status_code == 422 and "There is already a table called តុ ១." in clash.text
    assert client.post(f"{base}/staff/add", data={
        "name": "Dara\u202e\x00 S.", "role": "cashier", "pin": "246802",
        "email": "dara\u200e@example.com"}).status_code == 303
    dara = db.session.scalar(select(User).where(User.role == "cashier"))
    assert dara.name == "Dara S." and dara.email == "dara@example.com"


def test_payment_settings_are_cleaned(app, owner):
    shop, client = owner
    response = client.post(f"/s/{shop.slug}/settings/payments", data={
        "bakong_account_id": "cafe@aclb\u200f", "bakong_account_type": "individual",
        "khqr_merchant_name": "\u202eLucky\x00 Cafe", "khqr_merchant_city": "Phnom\nPenh",
        "currency": "USD", "khr_per_usd": "4100"})
    assert response.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Shop, shop.id)
    assert saved.bakong_account_id == "cafe@aclb"
    assert saved.khqr_merchant_name == "Lucky Cafe" and saved.khqr_merchant_city == "Phnom Penh"


def test_shop_names_are_cleaned(app, ctx):
    shop = shops.create_shop(db.session, slug="clean-name", name="\u202eLucky\x00 Cafe\u2069")
    assert shop.name == "Lucky Cafe" and shop.khqr_merchant_name == "Lucky Cafe"
    with pytest.raises(DomainError, match="1–80 characters"):
        shops.create_shop(db.session, slug="only-controls", name="\u202e\x00")
