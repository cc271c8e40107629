"""Command-line tools: `flask --app app demo`, `create-shop`, `init-db`."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app, url_for
from flask_migrate import upgrade

from shopqr.extensions import db
from shopqr.services import DomainError
from shopqr.services.demo import DEMO_STAFF, seed_demo
from shopqr.services.shops import add_staff, add_table, create_shop, random_pin

SCREENS = (
    ("Staff PIN pad", "staff.sign_in"),
    ("POS", "pos.index"),
    ("Kitchen", "kitchen.index"),
    ("Settings", "settings.index"),
)


def _external(endpoint: str, **values: object) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)


def upgrade_database() -> None:
    """Bring the schema to the newest migration (creates the SQLite file if needed)."""
    upgrade(directory=current_app.extensions["migrate"].directory)


@click.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the database schema."""
    upgrade_database()
    click.echo("Database is up to date.")


@click.command("demo")
def demo_command() -> None:
    """Create the database and the demo shop, then print every URL to try."""
    upgrade_database()
    shop = seed_demo(db.session)
    db.session.commit()
    click.echo(f"\nDemo shop: {shop.name} ({shop.currency}), Bakong simulator on.\n")
    click.echo("Tables (open one on a phone or in a browser window):")
    for table in shop.tables:
        link = _external("guest.scan", slug=shop.slug, qr_token=table.qr_token)
        click.echo(f"  {table.name:<8} {link}")
    counter = _external("guest.counter_scan", slug=shop.slug, counter_token=shop.counter_token)
    click.echo("\nCounter (takeaway: each phone its own cart, pick up at the counter):")
    click.echo(f"  {'Counter':<8} {counter}")
    click.echo("\nScreens:")
    for label, endpoint in SCREENS:
        if endpoint in current_app.view_functions:
            click.echo(f"  {label:<14} {_external(endpoint, slug=shop.slug)}")
    click.echo(f"  {'Health':<14} {_external('ops.healthz')}")
    click.echo("\nStaff PINs:")
    for name, role, pin, email, password in DEMO_STAFF:
        extra = f"  (settings: {email} / {password})" if email else ""
        click.echo(f"  {name:<6} {role:<8} PIN {pin}{extra}")


@click.command("create-shop")
@click.option("--slug", required=True, help="Web address part: /s/<slug>/...")
@click.option("--name", required=True)
@click.option("--currency", type=click.Choice(["USD", "KHR"]), default="USD")
@click.option("--tables", type=click.IntRange(0, 200), default=6, help="How many tables")
@click.option("--owner-name", required=True)
@click.option("--owner-email", required=True)
@click.option("--owner-password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Subscription paid up to (YYYY-MM-DD)")
def create_shop_command(
    slug: str, name: str, currency: str, tables: int, owner_name: str, owner_email: str,
    owner_password: str, expires: object,
) -> None:
    """Create a real shop with its owner and tables. Prints the owner's PIN once."""
    try:
        shop = create_shop(
            db.session, slug=slug, name=name, currency=currency,
            subscription_expires_on=expires.date() if expires else None,
        )
        for i in range(1, tables + 1):
            add_table(db.session, shop, f"Table {i}", sort_order=i)
        pin = random_pin()
        add_staff(db.session, shop, name=owner_name, role="owner", pin=pin,
                  email=owner_email, password=owner_password)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(f"Created {shop.name} at /s/{shop.slug}/ with {tables} tables.")
    click.echo(f"Owner {owner_name}: PIN {pin} (shown once; change it in settings).")
    if shop.subscription_expires_on and shop.subscription_expires_on < date.today():
        click.echo("Warning: the subscription date is in the past; guests cannot order.")


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(create_shop_command)
