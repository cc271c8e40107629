"""`flask --app app create-admin --email X`: create or reset a platform admin account."""

from __future__ import annotations

import click
from flask import Flask

from shopqr.extensions import db
from shopqr.models import utcnow
from shopqr.services.auth import set_admin_password


@click.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin_command(email: str, password: str) -> None:
    """Create a platform admin, or set a new password for an existing one."""
    email = email.strip().lower()
    if "@" not in email:
        raise click.ClickException("Enter a valid email address.")
    if len(password) < 12:
        raise click.ClickException("An admin password must be at least 12 characters.")
    if set_admin_password(db.session, email, password, now=utcnow()):
        click.echo(f"Created admin {email}.")
    else:
        click.echo(f"New password set for {email}; its sessions are signed out.")
    db.session.commit()


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
