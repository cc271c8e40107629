"""The menu: categories, products, option groups and options with extra prices."""

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

    category: Mapped[Category | None] = relationship(back_populates="products")
    option_groups: Mapped[list[OptionGroup]] = relationship(
        back_populates="product",
        order_by="OptionGroup.sort_order, OptionGroup.id",
        cascade="all, delete-orphan",
    )

    @property
    def orderable(self) -> bool:
        return self.is_available and not self.is_deleted


class OptionGroup(Base):
    """A choice the guest makes once per product, such as Size or Sugar."""

    __tablename__ = "option_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(40))
    name_km: Mapped[str | None] = mapped_column(String(40))
    sort_order: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="option_groups")
    options: Mapped[list[Option]] = relationship(
        back_populates="group", order_by="Option.sort_order, Option.id",
        cascade="all, delete-orphan",
    )

    @property
    def default_option(self) -> Option | None:
        for option in self.options:
            if option.is_default:
                return option
        return self.options[0] if self.options else None


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

    group: Mapped[OptionGroup] = relationship(back_populates="options")
