"""takeaway: each shop gets a counter QR code; a takeaway phone's session has no table

Revision ID: 0012takeaway
Revises: 0013phonenames
Create Date: 2026-12-04 10:00:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012takeaway'
down_revision = '0013phonenames'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shops') as batch_op:
        batch_op.add_column(sa.Column('counter_token', sa.String(length=64), nullable=True))
    # every existing shop gets its own secret counter code (256 bits, as a table's)
    shops = sa.table('shops', sa.column('id', sa.Integer()),
                     sa.column('counter_token', sa.String(length=64)))
    conn = op.get_bind()
    for (shop_id,) in conn.execute(sa.select(shops.c.id)).all():
        conn.execute(shops.update().where(shops.c.id == shop_id)
                     .values(counter_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table('shops') as batch_op:
        batch_op.alter_column('counter_token', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_shops_counter_token'),
                                          ['counter_token'])
    with op.batch_alter_table('table_sessions') as batch_op:
        batch_op.alter_column('table_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    # takeaway sessions have no table: they (and their carts) go; their orders keep their
    # snapshot and lose the session link (ON DELETE SET NULL)
    op.execute("DELETE FROM table_sessions WHERE table_id IS NULL")
    with op.batch_alter_table('table_sessions') as batch_op:
        batch_op.alter_column('table_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('shops') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_shops_counter_token'), type_='unique')
        batch_op.drop_column('counter_token')
