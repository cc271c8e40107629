"""Bakong API token renewals by the platform admin (the newest working token is used)

Revision ID: 0021bakongtoken
Revises: 0014pos
Create Date: 2026-12-04 16:00:00

"""
from alembic import op
import sqlalchemy as sa

import shopqr.models.base


# revision identifiers, used by Alembic.
revision = '0021bakongtoken'
down_revision = '0014pos'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'bakong_token_renewals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('requested_at', shopqr.models.base.UTCDateTime(), nullable=False),
        sa.Column('admin_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=120), nullable=False),
        sa.Column('token', sa.Text(), nullable=True),
        sa.Column('expires_at', shopqr.models.base.UTCDateTime(), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['admin_id'], ['admin_users.id'],
                                name=op.f('fk_bakong_token_renewals_admin_id_admin_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bakong_token_renewals')),
    )


def downgrade():
    op.drop_table('bakong_token_renewals')
