"""Money after payment: the cash drawer's shifts (one open per shop), cash in and out,
refunds of paid orders (whole or by line), the shift that took an order's cash, and the
owner's per-cashier "may refund" (docs/shifts.md, docs/refunds.md)

Revision ID: 0015money
Revises: 0018avail
Create Date: 2026-12-04 15:19:50.157598

"""
from alembic import op
import sqlalchemy as sa

import shopqr.models.base


# revision identifiers, used by Alembic.
revision = '0015money'
down_revision = '0018avail'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('open_shop_id', sa.Integer(), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', shopqr.models.base.UTCDateTime(), nullable=False),
    sa.Column('closed_at', shopqr.models.base.UTCDateTime(), nullable=True),
    sa.Column('float_usd', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('float_khr', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('counted_usd', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('counted_khr', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('expected_usd', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('expected_khr', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_shifts_closed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_shifts_opened_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shifts_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts')),
    sa.UniqueConstraint('open_shop_id', name=op.f('uq_shifts_open_shop_id'))
    )
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shifts_closed_by_id'), ['closed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shifts_opened_by_id'), ['opened_by_id'], unique=False)
        batch_op.create_index('ix_shifts_shop_opened', ['shop_id', 'opened_at'], unique=False)

    op.create_table('cash_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', shopqr.models.base.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_cash_movements_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_cash_movements_shift_id_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_cash_movements_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cash_movements'))
    )
    with op.batch_alter_table('cash_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cash_movements_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cash_movements_shop_id'), ['shop_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('cash_usd', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('cash_khr', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', shopqr.models.base.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_refunds_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_refunds_shift_id_shifts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_refunds_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index('ix_refunds_shop_created', ['shop_id', 'created_at'], unique=False)

    op.create_table('refund_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refund_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_refund_lines_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_refund_lines_refund_id_refunds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_lines'))
    )
    with op.batch_alter_table('refund_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_lines_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_lines_refund_id'), ['refund_id'], unique=False)

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunded_qty', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shift_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refunded_total', sa.Numeric(precision=10, scale=2), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_orders_shift_id'), ['shift_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_orders_shift_id_shifts'), 'shifts', ['shift_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('can_refund', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('can_refund')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_shift_id_shifts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_orders_shift_id'))
        batch_op.drop_column('refunded_total')
        batch_op.drop_column('shift_id')

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('refunded_qty')

    # their indexes go with them
    op.drop_table('refund_lines')
    op.drop_table('refunds')
    op.drop_table('cash_movements')
    op.drop_table('shifts')
