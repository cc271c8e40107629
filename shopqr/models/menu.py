"""The menu: categories, products, option groups and options with extra prices.

An option group is either single-choice (``kind`` "single": exactly one option, the default
when the guest picks none) or multi-select (``kind`` "multi": between ``min_choices`` and
``max_choices`` different options, e.g. "Toppings: pick up to 3"). Groups and options are
soft-deleted (``is_deleted``): cart lines may still point at them and order lines are
snapshots; ``Product.option_groups`` and ``OptionGroup.options`` only hold the live ones."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopqr.models.base import Base, utcnow


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    name_km: Mapped[str | None] = mapped_column(String(60))
    sort_order: Mapped[int] = mapped_column(default=0)
    # The kitchen station (Bar, Kitchen) that makes this category's items; None: every station
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id", ondelete="SET NULL"), index=True
    )
    # Hours it is offered ("0600-1100/1111100;..."; None: always): services/availability.py
    schedule: Mapped[str | None] = mapped_column(String(64))

    products: Mapped[list[Product]] = relationship(
        back_populates="category", order_by="Product.sort_order, Product.id"
    )


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    name_km: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    description_km: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal]
    image: Mapped[str | None] = mapped_column(String(120))
    is_available: Mapped[bool] = mapped_column(default=True)  # False: sold out today
    is_deleted: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Hours it is offered, within its category's (None: always): services/availability.py
    schedule: Mapped[str | None] = mapped_column(String(64))

    category: Mapped[Category | None] = relationship(back_populates="products")
    option_groups: Mapped[list[OptionGroup]] = relationship(
        back_populates="product",
        primaryjoin="and_(OptionGroup.product_id == Product.id, "
                    "OptionGroup.is_deleted.is_(False))",
        order_by="OptionGroup.sort_order, OptionGroup.id",
        cascade="all, delete-orphan",
    )

    @property
    def orderable(self) -> bool:
        return self.is_available and not self.is_deleted


SINGLE = "single"
MULTI = "multi"
GROUP_KINDS = (SINGLE, MULTI)
MAX_CHOICES = 20  # the most options a multi-select group may ask for


class OptionGroup(Base):
    """A choice the guest makes for a product: one option (Size, Sugar) or several (Toppings,
    between ``min_choices`` and ``max_choices``)."""

    __tablename__ = "option_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(40))
    name_km: Mapped[str | None] = mapped_column(String(40))
    sort_order: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(10), default=SINGLE, server_default=SINGLE)
    # multi-select only (a single-choice group is always exactly one): how many to pick
    min_choices: Mapped[int] = mapped_column(default=0, server_default="0")
    max_choices: Mapped[int] = mapped_column(default=1, server_default="1")
    is_deleted: Mapped[bool] = mapped_column(default=False, server_default="0")

    product: Mapped[Product] = relationship(back_populates="option_groups")
    options: Mapped[list[Option]] = relationship(
        back_populates="group", order_by="Option.sort_order, Option.id",
        primaryjoin="and_(Option.group_id == OptionGroup.id, Option.is_deleted.is_(False))",
        cascade="all, delete-orphan",
    )

    @property
    def is_multi(self) -> bool:
        return self.kind == MULTI

    @property
    def low(self) -> int:
        """The fewest options to pick, as far as the group's live options allow."""
        if not self.is_multi:
            return 1 if self.options else 0
        return min(self.min_choices, len(self.options))

    @property
    def high(self) -> int:
        """The most options to pick, as far as the group's live options allow."""
        if not self.is_multi:
            return 1 if self.options else 0
        return min(self.max_choices, len(self.options))

    @property
    def default_option(self) -> Option | None:
        """A single-choice group's preselected option (multi-select groups have none)."""
        if self.is_multi:
            return None
        for option in self.options:
            if option.is_default:
                return option
        return self.options[0] if self.options else None

    @property
    def initial_options(self) -> list[Option]:
        """What the option sheet shows chosen at first: the default, or a multi-select
        group's options marked default (preselected, up to its maximum)."""
        if not self.is_multi:
            default = self.default_option
            return [default] if default else []
        return [o for o in self.options if o.is_default][:self.high]


class Option(Base):
    __tablename__ = "options"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("option_groups.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(40))
    name_km: Mapped[str | None] = mapped_column(String(40))
    extra_price: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    is_default: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)
    is_deleted: Mapped[bool] = mapped_column(default=False, server_default="0")

    group: Mapped[OptionGroup] = relationship(back_populates="options")
