"""The shop's logo (docs/tables-and-qr.md): the owner uploads, replaces or removes it in the
settings; it shows on the printed QR sheet, on receipts and on the KHQR payment page. Stored
like product photos (instance/uploads, served by shopqr/media.py), checked and re-encoded by
services/images.py. A replaced or removed logo's file stays where it is, as a replaced product
photo's does: a page or receipt already open keeps its picture."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shopqr.models import Shop, User
from shopqr.services import images
from shopqr.services.audit import audit


def set_logo(db: Session, shop: Shop, data: bytes, *, upload_dir: str, by: User) -> str:
    """Check and store an uploaded logo and make it the shop's (the caller commits); a bad file
    is a DomainError with a clear message and changes nothing."""
    name = images.save_logo(data, upload_dir=upload_dir)
    replaced = shop.logo is not None
    shop.logo = f"uploads/{name}"
    audit(db, shop, by, "settings.logo_replaced" if replaced else "settings.logo_added", name)
    return shop.logo


def remove_logo(db: Session, shop: Shop, *, by: User) -> bool:
    """The shop shows no logo any more; False if it had none."""
    if shop.logo is None:
        return False
    shop.logo = None
    audit(db, shop, by, "settings.logo_removed")
    return True
