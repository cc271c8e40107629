"""cart_version on table sessions: bumped with every change to a table's cart, so phones and
cached cart fragments can tell cheaply whether the cart changed

Revision ID: 0005cartversion
Revises: 0004loginsessions
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005cartversion'
down_revision = '0004loginsessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('table_sessions') as batch_op:
        batch_op.add_column(sa.Column('cart_version', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade():
    with op.batch_alter_table('table_sessions') as batch_op:
        batch_op.drop_column('cart_version')
