"""tables get a Khmer label (shown to guests who chose Khmer)

Revision ID: 0011tablenamekm
Revises: 0005cartversion
Create Date: 2026-12-03 14:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011tablenamekm'
down_revision = '0005cartversion'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shop_tables') as batch_op:
        batch_op.add_column(sa.Column('name_km', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('shop_tables') as batch_op:
        batch_op.drop_column('name_km')
