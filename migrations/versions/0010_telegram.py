"""Telegram notifications: each shop's linked chat and choices, and the outbox of messages

Revision ID: 0010telegram
Revises: 0006paymentlinks
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa

import shopqr.models.base


# revision identifiers, used by Alembic.
revision = '0010telegram'
down_revision = '0006paymentlinks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'telegram_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=True),
        sa.Column('chat_title', sa.String(length=120), nullable=True),
        sa.Column('linked_at', shopqr.models.base.UTCDateTime(), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=True),
        sa.Column('code_expires_at', shopqr.models.base.UTCDateTime(), nullable=True),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('notify_paid', sa.Boolean(), nullable=False),
        sa.Column('notify_attention', sa.Boolean(), nullable=False),
        sa.Column('notify_shift', sa.Boolean(), nullable=False),
        sa.Column('notify_daily', sa.Boolean(), nullable=False),
        sa.Column('daily_at', sa.String(length=5), nullable=False),
        sa.Column('updated_at', shopqr.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_telegram_links_shop_id_shops'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_links')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_telegram_links_code_hash')),
        sa.UniqueConstraint('shop_id', name=op.f('uq_telegram_links_shop_id')),
    )
    op.create_table(
        'telegram_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('event_key', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', shopqr.models.base.UTCDateTime(), nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('created_at', shopqr.models.base.UTCDateTime(), nullable=False),
        sa.Column('sent_at', shopqr.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_telegram_outbox_shop_id_shops'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_outbox')),
        sa.UniqueConstraint('shop_id', 'kind', 'event_key',
                            name=op.f('uq_telegram_outbox_shop_id_kind_event_key')),
    )
    with op.batch_alter_table('telegram_outbox') as batch_op:
        batch_op.create_index('ix_telegram_outbox_due', ['status', 'next_attempt_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('telegram_outbox') as batch_op:
        batch_op.drop_index('ix_telegram_outbox_due')
    op.drop_table('telegram_outbox')
    op.drop_table('telegram_links')
