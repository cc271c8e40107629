"""The reports page for shops with no sales of a kind (every new shop), and the CSV header."""

from __future__ import annotations

import pytest

from tests.factories import make_order, make_product
from tests.settings.test_settings_pages import owned  # noqa: F401 - the fixture


def test_reports_of_a_new_shop_with_no_orders(owned):  # noqa: F811
    shop, _, client = owned
    for range_ in ("today", "7d", "30d"):
        page = client.get(f"/s/{shop.slug}/settings/reports?range={range_}")
        assert page.status_code == 200
        assert '<strong id="khqr-total">$0.00</strong>' in page.text
        assert '<strong id="cash-total">$0.00</strong>' in page.text
        assert '<strong id="revenue">$0.00</strong>' in page.text


@pytest.mark.parametrize("method", ["cash", "khqr"])
def test_reports_of_a_shop_with_only_one_payment_method(ctx, owned, method):  # noqa: F811
    shop, _, client = owned
    make_order(shop, make_product(shop, "Latte", "2.50"), 2, method=method, paid=True)
    page = client.get(f"/s/{shop.slug}/settings/reports?range=today")
    assert page.status_code == 200
    paid, other = ("cash", "khqr") if method == "cash" else ("khqr", "cash")
    assert f'<strong id="{paid}-total">$5.00</strong>' in page.text
    assert f'<strong id="{other}-total">$0.00</strong>' in page.text


def test_the_csv_says_its_charset_once(owned):  # noqa: F811
    shop, _, client = owned
    response = client.get(f"/s/{shop.slug}/settings/reports.csv?range=today")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
