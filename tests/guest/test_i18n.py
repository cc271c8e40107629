"""Languages on the guest's phone, safe redirects after switching, and escaping of what guests
type."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from shopqr.extensions import db
from tests.factories import make_product, make_shop, make_table

HX = {"HX-Request": "true"}
XSS = "<script>alert(1)</script>"


@pytest.fixture
def cafe(app, ctx):
    shop = make_shop("lang-cafe", name="Lang Cafe", name_km="ហាងភាសា")
    table = make_table(shop, "Table 1")
    latte = make_product(shop, "Latte", "2.50", name_km="ឡាតេ",
                         options={"Size": [("Small", "0"), ("Large", "0.50")]})
    latte.option_groups[0].name_km = "ទំហំ"
    latte.option_groups[0].options[1].name_km = "ធំ"
    db.session.commit()
    return shop, table, latte


@pytest.fixture
def phone(client):
    return client


@pytest.fixture
def seated(phone, cafe):
    shop, table, _ = cafe
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    return cafe


def set_lang(phone, shop, lang, next_=None):
    data = {"lang": lang}
    if next_ is not None:
        data["next"] = next_
    return phone.post(f"/s/{shop.slug}/lang", data=data)


def test_switching_to_khmer_sets_a_cookie_and_translates_the_menu(phone, seated):
    shop, _, _ = seated
    english = phone.get(f"/s/{shop.slug}/menu").text
    assert '<html lang="en">' in english and "Latte" in english and "ឡាតេ" not in english
    response = set_lang(phone, shop, "km", f"/s/{shop.slug}/menu")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/s/{shop.slug}/menu"
    cookie = SimpleCookie()
    cookie.load(response.headers["Set-Cookie"])
    morsel = cookie["shopqr_lang"]
    assert morsel.value == "km" and morsel["httponly"] is True and morsel["samesite"] == "Lax"
    khmer = phone.get(f"/s/{shop.slug}/menu").text
    assert '<html lang="km">' in khmer
    assert "ឡាតេ" in khmer and "ហាងភាសា" in khmer
    assert ">English</button>" in khmer  # the way back
    set_lang(phone, shop, "en")
    assert '<html lang="en">' in phone.get(f"/s/{shop.slug}/menu").text


def test_khmer_options_in_the_product_sheet_and_on_the_order(phone, seated):
    shop, _, latte = seated
    set_lang(phone, shop, "km")
    sheet = phone.get(f"/s/{shop.slug}/menu/products/{latte.id}", headers=HX).text
    assert "ទំហំ" in sheet and "ធំ" in sheet
    large = latte.option_groups[0].options[1]
    phone.post(f"/s/{shop.slug}/cart/items",
                data={"product_id": latte.id, f"group-{latte.option_groups[0].id}": large.id})
    placed = phone.post(f"/s/{shop.slug}/checkout",
                         data={"method": "cash", "checkout_key": "khmer-order-key-1"})
    page = phone.get(placed.headers["Location"]).text
    assert "ឡាតេ" in page and "ទំហំ: ធំ" in page


def test_the_browser_language_is_used_until_the_guest_chooses(phone, seated):
    shop, _, _ = seated
    page = phone.get(f"/s/{shop.slug}/menu", headers={"Accept-Language": "km-KH,km;q=0.9"})
    assert '<html lang="km">' in page.text and "ឡាតេ" in page.text
    set_lang(phone, shop, "en")
    page = phone.get(f"/s/{shop.slug}/menu", headers={"Accept-Language": "km"})
    assert '<html lang="en">' in page.text


@pytest.mark.parametrize("lang", ["fr", "", "KM", "km-KH", "en;"])
def test_an_unknown_language_is_400_and_sets_nothing(phone, seated, lang):
    shop, _, _ = seated
    response = set_lang(phone, shop, lang)
    assert response.status_code == 400 and "Unknown language." in response.text
    assert "shopqr_lang" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("target", [
    "https://evil.example",
    "https://evil.example/s/lang-cafe/menu",
    "//evil.example",
    "//evil.example/s/lang-cafe/",
    "/\\evil.example",
    "/s/lang-cafe//evil.example",
    "/s/lang-cafe/\\evil.example",
    "/s/other-cafe/menu",
    "javascript:alert(1)",
    "/s/lang-cafe/\r\nSet-Cookie: hijacked=1",
    "",
])
def test_the_next_field_never_leaves_the_shop(phone, cafe, target):
    shop, _, _ = cafe
    response = set_lang(phone, shop, "km", target)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/s/{shop.slug}/menu"
    assert "hijacked" not in response.headers.get("Set-Cookie", "")


def test_the_next_field_returns_to_a_page_of_the_shop(phone, cafe):
    shop, _, _ = cafe
    response = set_lang(phone, shop, "km", f"/s/{shop.slug}/cart")
    assert response.headers["Location"] == f"/s/{shop.slug}/cart"


def test_a_guest_note_is_escaped_everywhere_it_is_shown(phone, seated):
    shop, _, latte = seated
    added = phone.post(f"/s/{shop.slug}/cart/items", headers=HX,
                        data={"product_id": latte.id, "note": XSS})
    assert added.status_code == 200
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for page in (phone.get(f"/s/{shop.slug}/cart").text,
                 phone.get(f"/s/{shop.slug}/cart", headers=HX).text):
        assert XSS not in page and escaped in page
    placed = phone.post(f"/s/{shop.slug}/checkout",
                         data={"method": "cash", "checkout_key": "escape-order-key1"})
    order_page = phone.get(placed.headers["Location"]).text
    assert XSS not in order_page and escaped in order_page


def test_an_error_message_never_echoes_markup(phone, seated):
    shop, _, latte = seated
    response = phone.post(f"/s/{shop.slug}/cart/items", headers=HX,
                           data={"product_id": latte.id, "quantity": XSS})
    assert response.status_code == 422 and XSS not in response.text
    response = phone.post(f"/s/{shop.slug}/cart/items", headers=HX,
                           data={"product_id": XSS})
    assert response.status_code == 404 and XSS not in response.text


def test_refusals_from_the_cart_and_checkout_speak_the_guests_language(phone, seated):
    shop, _, latte = seated
    latte.is_available = False
    db.session.commit()
    english = phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": latte.id}, headers=HX)
    assert english.status_code == 409 and "Sorry, Latte is sold out." in english.text
    set_lang(phone, shop, "km")
    khmer = phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": latte.id}, headers=HX)
    assert khmer.status_code == 409
    assert "អស់ហើយ" in khmer.text and "is sold out" not in khmer.text
    empty = phone.post(f"/s/{shop.slug}/checkout",
                       data={"method": "cash", "checkout_key": "khmer-empty-cart-1"})
    assert empty.status_code == 422
    assert "កន្ត្រករបស់លោកអ្នកនៅទទេ។" in empty.text and "Your cart is empty" not in empty.text
