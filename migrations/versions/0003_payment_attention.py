"""payment attention: every KHQR payment a person must look at is marked on its transaction

A payment after a void, a second payment of an order, or a wrong amount or currency gets
``attention = 'due'`` until the cashier records "refunded", "kept" or "accepted" (who, when, a
note). ``orders.flag_reason`` was the old, single-slot record of the same thing: its flags are
moved onto the transactions they are about, then the column is dropped. ``last_result`` keeps
what the latest Bakong check answered.

Revision ID: 0003payattention
Revises: b7cd7a62a9ea
Create Date: 2026-11-30 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import shopqr.models.base


# revision identifiers, used by Alembic.
revision = '0003payattention'
down_revision = 'b7cd7a62a9ea'
branch_labels = None
depends_on = None

orders = sa.table(
    'orders',
    sa.column('id', sa.Integer()),
    sa.column('payment_status', sa.String(10)),
    sa.column('payment_method', sa.String(10)),
    sa.column('flag_reason', sa.String(200)),
)
transactions = sa.table(
    'transactions',
    sa.column('id', sa.Integer()),
    sa.column('order_id', sa.Integer()),
    sa.column('status', sa.String(12)),
    sa.column('bakong_hash', sa.String(128)),
    sa.column('paid_at', shopqr.models.base.UTCDateTime()),
    sa.column('attention', sa.String(10)),
    sa.column('attention_kind', sa.String(10)),
    sa.column('attention_reason', sa.String(200)),
)


def upgrade():
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_result', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('attention', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('attention_kind', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('attention_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', shopqr.models.base.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('resolved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolution_note', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_transactions_attention', ['shop_id', 'attention'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_transactions_resolved_by_id_users'), 'users',
                                    ['resolved_by_id'], ['id'], ondelete='SET NULL')

    # Move each order's flag onto the payment it is about, so nothing flagged is forgotten.
    conn = op.get_bind()
    flagged = conn.execute(
        sa.select(orders.c.id, orders.c.payment_status, orders.c.payment_method,
                  orders.c.flag_reason).where(orders.c.flag_reason.is_not(None))
    ).all()
    for order_id, payment_status, method, reason in flagged:
        received = conn.execute(
            sa.select(transactions.c.id, transactions.c.status, transactions.c.bakong_hash)
            .where(transactions.c.order_id == order_id, transactions.c.paid_at.is_not(None))
            .order_by(transactions.c.id)
        ).all()
        if payment_status == 'mismatch':
            targets = [t.id for t in received if t.status == 'mismatch']
            kind = 'amount'
        else:
            targets = [t.id for t in received if t.bakong_hash and t.bakong_hash in reason]
            kind = ('cancelled' if payment_status == 'cancelled'
                    else 'cash' if method == 'cash' else 'khqr')
        if targets:
            conn.execute(transactions.update().where(transactions.c.id.in_(targets))
                         .values(attention='due', attention_kind=kind,
                                 attention_reason=reason[:200]))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('flag_reason')


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_reason', sa.String(length=200), nullable=True))

    conn = op.get_bind()
    due = conn.execute(
        sa.select(transactions.c.order_id, transactions.c.attention_reason)
        .where(transactions.c.attention == 'due').order_by(transactions.c.id)
    ).all()
    for order_id, reason in due:
        conn.execute(orders.update().where(orders.c.id == order_id)
                     .values(flag_reason=(reason or 'A KHQR payment needs attention')[:200]))

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_transactions_resolved_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_index('ix_transactions_attention')
        batch_op.drop_column('resolution_note')
        batch_op.drop_column('resolved_by_id')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('attention_reason')
        batch_op.drop_column('attention_kind')
        batch_op.drop_column('attention')
        batch_op.drop_column('last_result')
