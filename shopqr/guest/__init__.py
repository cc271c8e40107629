"""The guest's phone. The hot paths (``views.HOT``) load the shop together with the phone's
table session in one statement (services/hotpath.py); every other guest page gets ``g.shop``
loaded as the other screens do."""

from flask import Blueprint, g

from shopqr.web import load_shop

bp = Blueprint("guest", __name__, url_prefix="/s/<slug>")


@bp.url_value_preprocessor
def _pull_shop(endpoint: str | None, values: dict | None) -> None:
    g.shop_slug = values.pop("slug") if values else None
    g.shop = None
    if g.shop_slug is not None and endpoint not in views.HOT:
        g.shop = load_shop(g.shop_slug)


@bp.url_defaults
def _add_slug(endpoint: str, values: dict) -> None:
    if "slug" not in values and getattr(g, "shop_slug", None) is not None:
        values["slug"] = g.shop_slug


from shopqr.guest import views  # noqa: E402
