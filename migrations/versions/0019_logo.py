"""The shop's logo (an uploaded image, stored like product photos): shown on the printed QR
sheet, on receipts and on the KHQR payment page

Revision ID: 0019logo
Revises: 0021bakongtoken
Create Date: 2026-12-04 15:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019logo'
down_revision = '0021bakongtoken'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shops') as batch_op:
        batch_op.add_column(sa.Column('logo', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('shops') as batch_op:
        batch_op.drop_column('logo')
