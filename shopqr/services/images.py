"""Uploaded images: product photos and the shop's logo. Only real images (JPEG, PNG, WebP or
GIF, checked by reading them, never by the file name), re-encoded (no metadata, nothing of the
upload kept), shrunk: photos to at most 800x600 as JPEG, the logo to at most 480x480 as PNG (its
transparency kept). SVG is never accepted: it is a document that can carry scripts."""

from __future__ import annotations

import io
import os
import secrets
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from shopqr.services import DomainError

MAX_BYTES = 4 * 1024 * 1024
MAX_PIXELS = 6000 * 6000
ALLOWED = {"JPEG", "PNG", "WEBP", "GIF"}
BOX = (800, 600)
LOGO_BOX = (480, 480)


@dataclass(frozen=True)
class Messages:
    """What an upload's refusals say, worded for what is uploaded (a photo, a logo)."""

    empty: object
    too_large: object
    kind: object
    pixels: object
    unreadable: object
    svg: object | None = None


PHOTO = Messages(
    empty=_l("Choose a photo to upload."),
    too_large=_l("That photo is too large (4 MB at most)."),
    kind=_l("Upload a JPEG, PNG, WebP or GIF photo."),
    pixels=_l("That photo has too many pixels (6000×6000 at most)."),
    unreadable=_l("That file is not a photo we can read."),
)
LOGO = Messages(
    empty=_l("Choose a logo to upload."),
    too_large=_l("That logo is too large (4 MB at most)."),
    kind=_l("Upload the logo as a PNG, JPEG, WebP or GIF image."),
    pixels=_l("That logo has too many pixels (6000×6000 at most)."),
    unreadable=_l("That file is not an image we can read."),
    svg=_l("SVG files cannot be uploaded: save the logo as a PNG and upload that."),
)


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and (b"<svg" in data[:4096].lower() or head.startswith(b"<?xml"))


def read_image(data: bytes, messages: Messages = PHOTO) -> Image.Image:
    """The uploaded image, fully decoded, after every check; else a DomainError (4xx) that
    says what is wrong."""
    if not data:
        raise DomainError(messages.empty)
    if len(data) > MAX_BYTES:
        raise DomainError(messages.too_large, 413)
    if messages.svg is not None and _looks_like_svg(data):
        raise DomainError(messages.svg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                if kind not in ALLOWED:
                    raise DomainError(messages.kind)
                if probe.width * probe.height > MAX_PIXELS:
                    raise DomainError(messages.pixels)
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
            return image
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(messages.unreadable) from None


def save_product_image(data: bytes, *, upload_dir: str) -> str:
    """Check, shrink and store an uploaded photo; returns its file name."""
    with read_image(data, PHOTO) as image:
        picture = image.convert("RGB")
    picture.thumbnail(BOX)
    os.makedirs(upload_dir, exist_ok=True)
    name = f"{secrets.token_urlsafe(12)}.jpg"
    picture.save(os.path.join(upload_dir, name), "JPEG", quality=82, optimize=True)
    return name


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def save_logo(data: bytes, *, upload_dir: str) -> str:
    """Check, shrink and store an uploaded logo as PNG (transparency kept); returns its file
    name. A new name every time, so a replaced logo never shows from a cache."""
    with read_image(data, LOGO) as image:
        logo = image.convert("RGBA" if _has_alpha(image) else "RGB")
    logo.thumbnail(LOGO_BOX)
    os.makedirs(upload_dir, exist_ok=True)
    name = f"logo-{secrets.token_urlsafe(12)}.png"
    logo.save(os.path.join(upload_dir, name), "PNG", optimize=True)
    return name
