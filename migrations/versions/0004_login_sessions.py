"""login sessions on the server; the owner's password back-off has its own time

Revision ID: 0004loginsessions
Revises: 0003payattention
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import shopqr.models.base


# revision identifiers, used by Alembic.
revision = '0004loginsessions'
down_revision = '0003payattention'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('admin_id', sa.Integer(), nullable=True),
    sa.Column('created_at', shopqr.models.base.UTCDateTime(), nullable=False),
    sa.Column('ended_at', shopqr.models.base.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['admin_id'], ['admin_users.id'], name=op.f('fk_login_sessions_admin_id_admin_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_login_sessions_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions'))
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_admin_id'), ['admin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_failed_at', shopqr.models.base.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_failed_at')

    # The table's indexes go with it. Dropping them first fails on MariaDB: an index that a
    # foreign key uses cannot be dropped while the key is there.
    op.drop_table('login_sessions')
