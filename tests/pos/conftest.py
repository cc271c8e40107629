"""Fixtures of the POS tests."""

import pytest

from tests.factories import make_staff, sign_in_staff


@pytest.fixture
def cashier_client(app, ctx):
    """``cashier_client(shop)``: a test client signed in as a new staff member of the shop
    (a cashier unless ``role`` says otherwise)."""
    def build(shop, role="cashier", pin="481516"):
        client = app.test_client()
        sign_in_staff(client, make_staff(shop, role, pin), pin)
        return client
    return build
