"""categories and products get availability hours (docs/availability.md)

Revision ID: 0018avail
Revises: 0017taxes
Create Date: 2026-12-04 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018avail'
down_revision = '0017taxes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('categories') as batch_op:
        batch_op.add_column(sa.Column('schedule', sa.String(length=64), nullable=True))
    with op.batch_alter_table('products') as batch_op:
        batch_op.add_column(sa.Column('schedule', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('products') as batch_op:
        batch_op.drop_column('schedule')
    with op.batch_alter_table('categories') as batch_op:
        batch_op.drop_column('schedule')
