"""`flask --app app create-admin --email X`: create or reset a platform admin account."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select, update

from shopqr.extensions import db
from shopqr.models import AdminUser, LoginSession, utcnow
from shopqr.services.shops import hash_secret


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
    admin = db.session.scalar(select(AdminUser).where(AdminUser.email == email))
    if admin is None:
        db.session.add(AdminUser(email=email, password_hash=hash_secret(password)))
        click.echo(f"Created admin {email}.")
    else:
        admin.password_hash = hash_secret(password)
        admin.failed_attempts = 0
        admin.last_failed_at = None
        # a new password signs the old sessions out (someone may have learnt the old one)
        db.session.execute(update(LoginSession).where(LoginSession.admin_id == admin.id,
                                                      LoginSession.ended_at.is_(None))
                           .values(ended_at=utcnow(), end_reason="password reset"))
        click.echo(f"New password set for {email}; its sessions are signed out.")
    db.session.commit()


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
