"""payment links: a shop may offer "open in a banking app" (Bakong deeplinks), and the link
Bakong gave for a KHQR is kept with its transaction

``shops.khqr_deeplinks`` is off for every shop until its owner turns it on.
``transactions.deeplink`` is empty when no link was asked for or the call failed.

Revision ID: 0006paymentlinks
Revises: 0011tablenamekm
Create Date: 2026-12-03 13:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006paymentlinks'
down_revision = '0011tablenamekm'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('khqr_deeplinks', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deeplink', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_column('deeplink')
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('khqr_deeplinks')
