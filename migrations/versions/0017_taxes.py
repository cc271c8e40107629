"""Taxes and charges: a service charge and VAT per shop (off by default), and on every order its
subtotal and the charges as they were charged (docs/taxes.md)

Revision ID: 0017taxes
Revises: 0019logo
Create Date: 2026-12-04 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017taxes'
down_revision = '0019logo'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shops') as batch_op:
        batch_op.add_column(sa.Column('service_on', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('service_name', sa.String(length=40), nullable=False,
                                      server_default='Service charge'))
        batch_op.add_column(sa.Column('service_name_km', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('service_rate', sa.Numeric(precision=5, scale=2),
                                      nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('service_included', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('vat_on', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('vat_name', sa.String(length=40), nullable=False,
                                      server_default='VAT'))
        batch_op.add_column(sa.Column('vat_name_km', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('vat_rate', sa.Numeric(precision=5, scale=2),
                                      nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('vat_included', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('charge_rounding', sa.String(length=8), nullable=False,
                                      server_default='nearest'))
    with op.batch_alter_table('orders') as batch_op:
        batch_op.add_column(sa.Column('subtotal', sa.Numeric(precision=10, scale=2),
                                      nullable=True))
    op.execute("UPDATE orders SET subtotal = total")  # no charges before this revision
    op.create_table(
        'order_charges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('name_km', sa.String(length=40), nullable=True),
        sa.Column('rate', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('included', sa.Boolean(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_order_charges_order_id_orders'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_charges')),
    )
    with op.batch_alter_table('order_charges') as batch_op:
        batch_op.create_index(batch_op.f('ix_order_charges_order_id'), ['order_id'],
                              unique=False)


def downgrade():
    op.drop_table('order_charges')  # with its index (MariaDB refuses to drop it alone: the FK)
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('subtotal')
    with op.batch_alter_table('shops') as batch_op:
        for name in ('charge_rounding', 'vat_included', 'vat_rate', 'vat_name_km', 'vat_name',
                     'vat_on', 'service_included', 'service_rate', 'service_name_km',
                     'service_name', 'service_on'):
            batch_op.drop_column(name)
