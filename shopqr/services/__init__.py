"""The domain: plain arguments in, models out. No request or g; the caller commits."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """Bad input or a state that forbids the action: the view answers with a 4xx and `message`.

    Messages are lazy translations (``lazy_gettext``): they take the language of the request
    that shows them."""

    status = 422

    def __init__(self, message: str | LazyString, status: int | None = None) -> None:
        super().__init__(message)
        self._message = message
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The message in the current language, as a plain str. Not the LazyString itself:
        Jinja takes a LazyString for safe markup (it has ``__html__``) and would not escape the
        names filled into it."""
        return str(self._message)


class NotFound(DomainError):
    status = 404


def clean_text(raw: str | None, label: str | LazyString, limit: int, *,
               required: bool) -> str | None:
    """Text typed by staff, trimmed; None when empty. ``label`` names the field in the message
    (a translation)."""
    value = (raw or "").strip()
    if required and not value:
        raise DomainError(_l("%(label)s is required.", label=label))
    if len(value) > limit:
        raise DomainError(_l("%(label)s can be at most %(limit)s characters.", label=label,
                             limit=limit))
    return value or None


MAX_ID = 2**63 - 1  # larger ids cannot exist, and SQLite refuses to bind them


def parse_id(raw: object) -> int | None:
    """A database id from a form or a query string: ASCII digits only, 1..MAX_ID; else None."""
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
