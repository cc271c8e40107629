"""POS receipts: print a receipt after cash is taken (default on) and the receipt paper width

Revision ID: 0014pos
Revises: 0012takeaway
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014pos'
down_revision = '0012takeaway'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shops') as batch_op:
        batch_op.add_column(sa.Column('print_receipt_after_cash', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('receipt_paper_mm', sa.Integer(), nullable=False,
                                      server_default='80'))


def downgrade():
    with op.batch_alter_table('shops') as batch_op:
        batch_op.drop_column('receipt_paper_mm')
        batch_op.drop_column('print_receipt_after_cash')
