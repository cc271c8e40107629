"""Test data factories (small shops, menus and tables built through the real services; they
need the test's app context, the ``ctx`` fixture) and the helpers tests share: threads that
start together, a fake Bakong, a websocket's close code."""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal

from shopqr.extensions import db
from shopqr.models import Category, Option, OptionGroup, Product, Shop, ShopTable, User
from shopqr.services.shops import add_staff, add_table, create_shop

_seq = itertools.count(1)


def make_shop(slug: str | None = None, *, currency: str = "USD", khqr: bool = True,
              **fields: object) -> Shop:
    n = next(_seq)
    shop = create_shop(db.session, slug=slug or f"shop-{n}", name=fields.pop("name", f"Shop {n}"),
                       currency=currency)
    if khqr:
        shop.bakong_account_id = f"shop{n}@aclb"
    for key, value in fields.items():
        setattr(shop, key, value)
    db.session.commit()
    return shop


def make_table(shop: Shop, name: str | None = None) -> ShopTable:
    table = add_table(db.session, shop, name or f"Table {next(_seq)}")
    db.session.commit()
    return table


def make_product(
    shop: Shop,
    name: str = "Latte",
    price: str = "2.50",
    *,
    options: dict[str, list[tuple[str, str]]] | None = None,
    category: Category | None = None,
    **fields: object,
) -> Product:
    """``options``: {"Size": [("Small", "0"), ("Large", "0.50")]}; the first option is default."""
    if category is None:
        category = Category(shop_id=shop.id, name=f"Category {next(_seq)}")
        db.session.add(category)
    product = Product(shop_id=shop.id, category=category, name=name, price=Decimal(price),
                      **fields)
    for g_index, (group_name, choices) in enumerate((options or {}).items()):
        group = OptionGroup(name=group_name, sort_order=g_index)
        group.options = [
            Option(name=o_name, extra_price=Decimal(extra), is_default=(i == 0), sort_order=i)
            for i, (o_name, extra) in enumerate(choices)
        ]
        product.option_groups.append(group)
    db.session.add(product)
    db.session.commit()
    return product


def option_id(product: Product, group: str, option: str) -> int:
    for g in product.option_groups:
        if g.name == group:
            for o in g.options:
                if o.name == option:
                    return o.id
    raise KeyError((group, option))


def group_id(product: Product, group: str) -> int:
    return next(g.id for g in product.option_groups if g.name == group)


def make_staff(shop: Shop, role: str = "cashier", pin: str = "481516", **kwargs: object) -> User:
    user = add_staff(db.session, shop, name=kwargs.pop("name", f"{role}-{next(_seq)}"),
                     role=role, pin=pin, **kwargs)
    db.session.commit()
    return user


def sign_in_staff(client, user: User, pin: str = "481516"):
    """Sign a staff member in on this client's 'device' with the PIN pad form."""
    shop = db.session.get(Shop, user.shop_id)
    response = client.post(f"/s/{shop.slug}/staff/sign-in",
                           data={"user_id": str(user.id), "pin": pin})
    assert response.status_code == 303, response.data
    return response


def make_order(shop: Shop, product: Product, quantity: int = 1, *, method: str = "cash",
               table: ShopTable | None = None, paid: bool = False):
    """An order as checkout makes it; ``paid`` also marks it paid (queued for the kitchen)."""
    from shopqr.models import utcnow
    from shopqr.services.checkout import OrderItem, create_order

    options = [g.default_option for g in product.option_groups if g.default_option]
    order = create_order(db.session, shop, items=[OrderItem(product, options, quantity)],
                         method=method, key=None, table=table)
    if paid:
        order.payment_status = "paid"
        order.kitchen_status = "queued"
        order.paid_at = utcnow()
    db.session.commit()
    return order


def make_cafe(slug: str, name: str, table_name: str, *,
              latte_km: str | None = None) -> tuple[Shop, ShopTable, Product, Product]:
    """A shop with one table, a latte with size and sugar choices, and a cake without options:
    (shop, table, latte, cake)."""
    shop = make_shop(slug, name=name)
    table = make_table(shop, table_name)
    latte = make_product(shop, "Latte", "2.50", name_km=latte_km,
                         options={"Size": [("Small", "0"), ("Large", "0.50")],
                                  "Sugar": [("100%", "0"), ("50%", "0")]})
    cake = make_product(shop, "Banana Cake", "1.75")
    return shop, table, latte, cake


def run_together(app, count_: int, work):
    """Run ``work(n)`` in ``count_`` threads that start at the same instant; each thread has
    its own app context. Returns the results by n; re-raises the first error."""
    barrier = threading.Barrier(count_)
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def target(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                results[n] = work(n)
                db.session.remove()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a checkout hung"
    if errors:
        raise errors[0]
    return [results[n] for n in range(count_)]


class FakeBakong:
    """Plays the Bakong Open API for the poller and the recheck, in process: ``pay`` an md5,
    then ``check_transaction_by_md5`` reports it; ``fail`` makes every check an outage."""

    def __init__(self) -> None:
        from shopqr.services.bakong import CheckStatus

        self.paid: dict[str, object] = {}
        self.calls: list[str] = []
        self.fail: CheckStatus | None = None
        self.timeout = (3.0, 8.0)

    def pay(self, md5: str, amount: str, currency: str = "USD", *,
            hash_: str | None = None) -> str:
        from shopqr.services.bakong import Payment

        hash_ = hash_ or f"hash-{md5[:12]}"
        self.paid[md5] = Payment(hash=hash_, from_account="guest@abaa", to_account=None,
                                 currency=currency, amount=Decimal(amount))
        return hash_

    def check_transaction_by_md5(self, md5: str):
        from shopqr.services.bakong import CheckResult, CheckStatus

        self.calls.append(md5)
        if self.fail is not None:
            return CheckResult(self.fail, md5, message="down")
        payment = self.paid.get(md5)
        if payment is None:
            return CheckResult(CheckStatus.NOT_FOUND, md5)
        return CheckResult(CheckStatus.PAID, md5, payment)


def close_code(ws, within: float) -> int | None:
    """The close code a server sends on a simple_websocket client within `within` seconds
    (messages meanwhile are skipped), or None if the socket stays open."""
    import time

    import simple_websocket

    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            ws.receive(timeout=0.2)
    except simple_websocket.ConnectionClosed as closed:
        return closed.reason
    return None


def open_shift(shop: Shop, user: User | None = None, usd: str = "0", khr: str = "0"):
    """Open the shop's cash drawer (a shift) with a float, so cash can be taken
    (docs/shifts.md); ``user`` opens it (else the shop's first staff member)."""
    from sqlalchemy import select

    from shopqr.models import utcnow
    from shopqr.services import shifts
    from shopqr.services.events import EventBus

    by = user or db.session.scalar(select(User).where(
        User.shop_id == shop.id, User.is_active.is_(True)).order_by(User.id).limit(1)) \
        or make_staff(shop, "owner", "739154", name="Drawer owner")
    shift = shifts.open_shift(db.session, EventBus(), shop, usd=usd, khr=khr, by=by,
                              now=utcnow())
    db.session.commit()
    return shift
