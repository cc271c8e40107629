"""Fixtures of the POS tests."""

import pytest

from shopqr.extensions import db
from shopqr.services import shifts
from tests.factories import make_staff, open_shift, sign_in_staff


@pytest.fixture
def cashier_client(app, ctx):
    """``cashier_client(shop)``: a test client signed in as a new staff member of the shop
    (a cashier unless ``role`` says otherwise)."""
    def build(shop, role="cashier", pin="481516", shift=True):
        """``shift``: the shop's cash drawer is open (a shift), so cash can be taken."""
        client = app.test_client()
        user = make_staff(shop, role, pin)
        sign_in_staff(client, user, pin)
        if shift and shifts.current(db.session, shop) is None:
            open_shift(shop, user)
        return client
    return build
