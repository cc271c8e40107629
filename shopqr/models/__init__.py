"""All models, importable from one place (Flask-Migrate sees them through this module)."""

from shopqr.models.base import Base, epoch_ms, utcnow
from shopqr.models.kitchen import Station
from shopqr.models.menu import Category, Option, OptionGroup, Product
from shopqr.models.ordering import (
    CartItem,
    CartItemOption,
    Order,
    OrderCounter,
    OrderLine,
    TableSession,
)
from shopqr.models.payments import PollerLease, Transaction
from shopqr.models.simulator import SimCall, SimFault, SimPayment
from shopqr.models.tenancy import (
    AdminUser,
    AuditLog,
    LoginSession,
    Shop,
    ShopTable,
    ThrottleCounter,
    User,
)

__all__ = [
    "AdminUser",
    "AuditLog",
    "Base",
    "CartItem",
    "CartItemOption",
    "Category",
    "LoginSession",
    "Option",
    "OptionGroup",
    "Order",
    "OrderCounter",
    "OrderLine",
    "PollerLease",
    "Product",
    "Shop",
    "Station",
    "SimCall",
    "SimFault",
    "SimPayment",
    "ShopTable",
    "TableSession",
    "ThrottleCounter",
    "Transaction",
    "User",
    "epoch_ms",
    "utcnow",
]
