"""All models, importable from one place (Flask-Migrate sees them through this module)."""

from shopqr.models.base import Base, epoch_ms, utcnow
from shopqr.models.cash import CashMovement, Refund, RefundLine, Shift
from shopqr.models.kitchen import Station
from shopqr.models.menu import Category, Option, OptionGroup, Product
from shopqr.models.ordering import (
    SERVICE_KINDS,
    CartItem,
    CartItemOption,
    Order,
    OrderCharge,
    OrderCounter,
    OrderLine,
    ServiceRequest,
    TableSession,
    TableSessionPhone,
)
from shopqr.models.payments import BakongTokenRenewal, PollerLease, Transaction
from shopqr.models.simulator import SimCall, SimFault, SimPayment
from shopqr.models.telegram import TelegramLink, TelegramMessage
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
    "SERVICE_KINDS",
    "AdminUser",
    "AuditLog",
    "BakongTokenRenewal",
    "Base",
    "CartItem",
    "CartItemOption",
    "CashMovement",
    "Category",
    "LoginSession",
    "Option",
    "OptionGroup",
    "Order",
    "OrderCharge",
    "OrderCounter",
    "OrderLine",
    "PollerLease",
    "Product",
    "Refund",
    "RefundLine",
    "ServiceRequest",
    "Shift",
    "Shop",
    "Station",
    "SimCall",
    "SimFault",
    "SimPayment",
    "ShopTable",
    "TableSession",
    "TableSessionPhone",
    "TelegramLink",
    "TelegramMessage",
    "ThrottleCounter",
    "Transaction",
    "User",
    "epoch_ms",
    "utcnow",
]
