"""Table sessions with their shared cart, orders with snapshot lines, order numbering."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopqr.models.base import Base, utcnow
from shopqr.models.menu import Option, Product
from shopqr.models.tenancy import ShopTable

PAYMENT_METHODS = ("khqr", "cash")
# payment_status: pending -> paid | cancelled; "mismatch": a KHQR payment of the wrong amount or
# currency arrived for the unpaid order and waits for the cashier (its Transaction has attention
# "due"): accepted -> paid, refunded or kept -> pending again, or the order is voided.
PAYMENT_STATUSES = ("pending", "paid", "mismatch", "cancelled")
# kitchen status of a paid order
KITCHEN_STATUSES = ("queued", "preparing", "ready", "served")


class TableSession(Base):
    """The group sitting at a table right now, or one takeaway guest's phone at the counter.

    ``active_table_id`` is set only while active, so a unique constraint on it allows one
    active session per table (NULLs never clash). A takeaway session has no table
    (``table_id`` NULL): each phone that scans the counter's QR code gets its own, private
    cart, and while it is active its ``active_table_id`` is minus its own id, which never
    clashes with a table's id nor with another phone's session. Every "is it active" check
    and cart writer (``active_table_id IS NOT NULL``) then works for both (docs/takeaway.md)."""

    __tablename__ = "table_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    table_id: Mapped[int | None] = mapped_column(  # None: a takeaway phone's session
        ForeignKey("shop_tables.id", ondelete="CASCADE"), index=True
    )
    active_table_id: Mapped[int | None] = mapped_column(unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    checkout_version: Mapped[int] = mapped_column(default=0)
    # Bumped in the same transaction as every change to the cart (add, quantity, note, remove,
    # checkout): cached cart fragments are keyed on it, phones poll it (services/hotpath.py).
    cart_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The kinds of the table's open service requests (call staff, ask for the bill), as bits
    # (SERVICE_KINDS): changed in the same transaction as the requests, so the guest's pages
    # read it with the session, in the statement they run anyway (services/service_requests.py).
    service_calls: Mapped[int] = mapped_column(default=0, server_default="0")
    # How many phones have joined (``TableSessionPhone.seq``): the UPDATE that raises it takes
    # the session's row lock, so phones joining at once get distinct numbers.
    phone_count: Mapped[int] = mapped_column(default=0, server_default="0")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(String(40))

    table: Mapped[ShopTable | None] = relationship()
    cart_items: Mapped[list[CartItem]] = relationship(
        back_populates="session", order_by="CartItem.id", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:
        return self.active_table_id is not None

    @property
    def is_takeaway(self) -> bool:
        return self.table_id is None


class TableSessionPhone(Base):
    """One phone of a table session's group (docs/phones.md): numbered in the order phones
    joined ("Phone 2" until it gives a name), known by a random token in its own cookie.
    Cart lines and order lines record the phone that added them."""

    __tablename__ = "table_session_phones"
    __table_args__ = (UniqueConstraint("session_id", "seq"),
                      UniqueConstraint("session_id", "token"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("table_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int]
    token: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


SERVICE_KINDS = {"staff": 1, "bill": 2}  # a guest asks for a staff member, or for the bill


class ServiceRequest(Base):
    """A guest asked for staff or for the bill. ``open_table_id`` is set only while nobody has
    handled it, so a unique constraint on (open_table_id, kind) allows one open request per
    table and kind (NULLs never clash), as ``TableSession.active_table_id`` does for sessions."""

    __tablename__ = "service_requests"
    __table_args__ = (
        UniqueConstraint("open_table_id", "kind"),
        Index("ix_service_requests_shop_open", "shop_id", "open_table_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    table_id: Mapped[int] = mapped_column(ForeignKey("shop_tables.id", ondelete="CASCADE"),
                                          index=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("table_sessions.id", ondelete="CASCADE"), index=True)
    open_table_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(10))  # SERVICE_KINDS
    note: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)

    table: Mapped[ShopTable] = relationship()

    @property
    def is_open(self) -> bool:
        return self.open_table_id is not None


class CartItem(Base):
    __tablename__ = "cart_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("table_sessions.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(default=1)
    note: Mapped[str | None] = mapped_column(String(200))
    # the phone that added the line (None: added by staff, or before phones were recorded)
    phone_id: Mapped[int | None] = mapped_column(
        ForeignKey("table_session_phones.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[TableSession] = relationship(back_populates="cart_items")
    product: Mapped[Product] = relationship()
    phone: Mapped[TableSessionPhone | None] = relationship()
    options: Mapped[list[CartItemOption]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="CartItemOption.id"
    )


class CartItemOption(Base):
    __tablename__ = "cart_item_options"
    __table_args__ = (UniqueConstraint("cart_item_id", "option_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_item_id: Mapped[int] = mapped_column(ForeignKey("cart_items.id", ondelete="CASCADE"))
    option_id: Mapped[int] = mapped_column(ForeignKey("options.id", ondelete="CASCADE"))

    item: Mapped[CartItem] = relationship(back_populates="options")
    option: Mapped[Option] = relationship()


class OrderCounter(Base):
    """Per-shop, per-business-day sequence behind human-friendly order numbers."""

    __tablename__ = "order_counters"
    __table_args__ = (UniqueConstraint("shop_id", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    business_date: Mapped[date]
    last_value: Mapped[int] = mapped_column(default=0)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "number"),
        UniqueConstraint("checkout_key"),
        UniqueConstraint("public_token"),
        Index("ix_orders_shop_created", "shop_id", "created_at"),
        Index("ix_orders_shop_payment", "shop_id", "payment_status"),
        Index("ix_orders_shop_kitchen", "shop_id", "kitchen_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    table_id: Mapped[int | None] = mapped_column(
        ForeignKey("shop_tables.id", ondelete="SET NULL"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("table_sessions.id", ondelete="SET NULL"), index=True
    )
    number: Mapped[str] = mapped_column(String(20))  # "241124-007": unique per shop
    seq: Mapped[int]  # 7: what the kitchen and the guest call out
    public_token: Mapped[str] = mapped_column(String(64))  # the guest's capability URL
    checkout_key: Mapped[str | None] = mapped_column(String(64))  # one order per submitted form
    # table | takeaway (the counter's QR code) | pos
    source: Mapped[str] = mapped_column(String(10), default="table")
    table_name: Mapped[str | None] = mapped_column(String(40))
    payment_method: Mapped[str] = mapped_column(String(10))
    payment_status: Mapped[str] = mapped_column(String(10), default="pending")
    kitchen_status: Mapped[str | None] = mapped_column(String(10))  # set once paid
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal]  # what is paid: the lines plus the added charges (the KHQR amount)
    # the lines' sum before charges (None: an order made before charges existed, = total)
    subtotal: Mapped[Decimal | None]
    note: Mapped[str | None] = mapped_column(String(200))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    preparing_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    served_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cash_tendered: Mapped[str | None] = mapped_column(Text)  # JSON-ish note of what was handed
    # The drawer's shift that took the cash (docs/shifts.md); None for KHQR and older orders.
    shift_id: Mapped[int | None] = mapped_column(
        ForeignKey("shifts.id", ondelete="SET NULL"), index=True)
    # What refunds gave back so far (docs/refunds.md): raised by one conditional UPDATE that
    # also checks it stays within the total, so refunds at once can never give back more.
    refunded_total: Mapped[Decimal] = mapped_column(default=Decimal("0"), server_default="0")

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    table: Mapped[ShopTable | None] = relationship()
    # the taxes and charges as they were charged (docs/taxes.md), in the order computed
    charges: Mapped[list[OrderCharge]] = relationship(
        back_populates="order", order_by="OrderCharge.id", cascade="all, delete-orphan"
    )

    @property
    def is_paid(self) -> bool:
        return self.payment_status == "paid"

    @property
    def refund_state(self) -> str | None:
        """None, "partial" or "full": how much of a paid order was given back."""
        if not self.refunded_total:
            return None
        return "full" if self.refunded_total >= self.total else "partial"

    @property
    def items_total(self) -> Decimal:
        """The lines' sum before charges (an order made before charges existed: its total)."""
        return self.subtotal if self.subtotal is not None else self.total


class OrderCharge(Base):
    """A tax or charge of an order as it was charged: a snapshot, never recomputed from the
    shop's settings (docs/taxes.md). ``included``: the prices already held it (shown, not
    added to the total)."""

    __tablename__ = "order_charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # service | vat
    name: Mapped[str] = mapped_column(String(40))
    name_km: Mapped[str | None] = mapped_column(String(40))
    rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # percent
    included: Mapped[bool] = mapped_column(default=False)
    amount: Mapped[Decimal]

    order: Mapped[Order] = relationship(back_populates="charges")


class OrderLine(Base):
    """A snapshot of what was ordered: later menu edits never change it."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    product_name: Mapped[str] = mapped_column(String(80))
    product_name_km: Mapped[str | None] = mapped_column(String(80))
    base_price: Mapped[Decimal]
    unit_price: Mapped[Decimal]  # base + options
    quantity: Mapped[int]
    line_total: Mapped[Decimal]
    # [{"group": "Size", "option": "Large", "extra": "0.50"}, ...]
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(200))
    done: Mapped[bool] = mapped_column(default=False)
    # How many of this line refunds gave back (never more than ``quantity``)
    refunded_qty: Mapped[int] = mapped_column(default=0, server_default="0")
    # the phone whose cart line this was (a cancelled order's lines go back to it)
    phone_id: Mapped[int | None] = mapped_column(
        ForeignKey("table_session_phones.id", ondelete="SET NULL"), index=True)

    order: Mapped[Order] = relationship(back_populates="lines")
    phone: Mapped[TableSessionPhone | None] = relationship()

    @property
    def guest_name(self) -> str | None:
        """The name the guest's phone gave ("Dara"), for the kitchen card; None without one.
        Only read where the phones were loaded with the lines (services/kitchen.py)."""
        return self.phone.name if self.phone_id is not None and self.phone is not None else None

    @property
    def options_text(self) -> str:
        """"Size: Large, Toppings: Pearls + Jelly": a multi-select group's options together."""
        return self.options_label(km=False)

    def options_label(self, *, km: bool) -> str:
        """The chosen options as one line, by group, in Khmer where the snapshot has it."""
        parts: list[tuple[str, list[str]]] = []
        for o in self.options:
            group = (o.get("group_km") if km else None) or o.get("group", "")
            option = (o.get("option_km") if km else None) or o.get("option", "")
            if parts and parts[-1][0] == group:
                parts[-1][1].append(option)
            else:
                parts.append((group, [option]))
        return ", ".join(f"{group}: {' + '.join(names)}" for group, names in parts)
