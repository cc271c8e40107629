"""kitchen stations (categories assigned to a station) and per-shop late thresholds

Revision ID: 0009kitchenstations
Revises: 0007optionrules
Create Date: 2026-12-03 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009kitchenstations'
down_revision = '0007optionrules'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_stations_shop_id_shops'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stations')),
    )
    with op.batch_alter_table('stations') as batch_op:
        batch_op.create_index(batch_op.f('ix_stations_shop_id'), ['shop_id'], unique=False)
    with op.batch_alter_table('categories') as batch_op:
        batch_op.add_column(sa.Column('station_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_categories_station_id'), ['station_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_categories_station_id_stations'), 'stations',
                                    ['station_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('shops') as batch_op:
        batch_op.add_column(sa.Column('kitchen_warn_minutes', sa.Integer(), nullable=False,
                                      server_default='5'))
        batch_op.add_column(sa.Column('kitchen_late_minutes', sa.Integer(), nullable=False,
                                      server_default='10'))


def downgrade():
    with op.batch_alter_table('shops') as batch_op:
        batch_op.drop_column('kitchen_late_minutes')
        batch_op.drop_column('kitchen_warn_minutes')
    with op.batch_alter_table('categories') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_categories_station_id_stations'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_categories_station_id'))
        batch_op.drop_column('station_id')
    op.drop_table('stations')  # with its index (MariaDB keeps it while the foreign key exists)
