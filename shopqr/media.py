"""Uploaded images (product photos, the shop's logo), served from instance/uploads."""

from __future__ import annotations

import os
import re

from flask import Blueprint, Flask, abort, current_app, send_from_directory, url_for
from werkzeug.wrappers import Response

from shopqr.models import Product, Shop

bp = Blueprint("media", __name__)
NAME = re.compile(r"^[A-Za-z0-9_-]+\.(?:jpg|png)$")  # photos are .jpg, logos .png


def upload_dir(app: Flask) -> str:
    return app.config.get("UPLOAD_FOLDER") or os.path.join(app.instance_path, "uploads")


@bp.get("/media/<name>")
def file(name: str) -> Response:
    if not NAME.match(name):
        abort(404)
    response = send_from_directory(upload_dir(current_app), name, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def product_image_url(product: Product) -> str | None:
    if not product.image:
        return None
    if product.image.startswith("uploads/"):
        return url_for("media.file", name=product.image.removeprefix("uploads/"))
    return url_for("static", filename=product.image)


def shop_logo_url(shop: Shop) -> str | None:
    """The shop's logo (services/shop_logo.py), or None: a shop without one shows none."""
    if not getattr(shop, "logo", None) or not shop.logo.startswith("uploads/"):
        return None
    return url_for("media.file", name=shop.logo.removeprefix("uploads/"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["product_image_url"] = product_image_url
    app.jinja_env.globals["shop_logo_url"] = shop_logo_url
