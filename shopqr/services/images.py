"""Product photos: only real images, re-encoded (no metadata), at most 800x600."""

from __future__ import annotations

import io
import os
import secrets
import warnings

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from shopqr.services import DomainError

MAX_BYTES = 4 * 1024 * 1024
MAX_PIXELS = 6000 * 6000
ALLOWED = {"JPEG", "PNG", "WEBP", "GIF"}
BOX = (800, 600)


def save_product_image(data: bytes, *, upload_dir: str) -> str:
    """Check, shrink and store an uploaded photo; returns its file name."""
    if not data:
        raise DomainError(_l("Choose a photo to upload."))
    if len(data) > MAX_BYTES:
        raise DomainError(_l("That photo is too large (4 MB at most)."), 413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                if kind not in ALLOWED:
                    raise DomainError(_l("Upload a JPEG, PNG, WebP or GIF photo."))
                if probe.width * probe.height > MAX_PIXELS:
                    raise DomainError(_l("That photo has too many pixels (6000×6000 at most)."))
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(_l("That file is not a photo we can read.")) from None
    picture.thumbnail(BOX)
    os.makedirs(upload_dir, exist_ok=True)
    name = f"{secrets.token_urlsafe(12)}.jpg"
    picture.save(os.path.join(upload_dir, name), "JPEG", quality=82, optimize=True)
    return name
