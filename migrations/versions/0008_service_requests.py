"""service requests: a guest calls staff or asks for the bill; one open request per table and
kind (open_table_id is set only while open); table_sessions.service_calls mirrors the open
kinds for the guest's pages

Revision ID: 0008servicerequests
Revises: 0010telegram
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa

import shopqr.models.base


# revision identifiers, used by Alembic.
revision = '0008servicerequests'
down_revision = '0010telegram'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('service_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('table_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('open_table_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=120), nullable=True),
    sa.Column('created_at', shopqr.models.base.UTCDateTime(), nullable=False),
    sa.Column('handled_at', shopqr.models.base.UTCDateTime(), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['handled_by_id'], ['users.id'], name=op.f('fk_service_requests_handled_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['table_sessions.id'], name=op.f('fk_service_requests_session_id_table_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_service_requests_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['table_id'], ['shop_tables.id'], name=op.f('fk_service_requests_table_id_shop_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_requests')),
    sa.UniqueConstraint('open_table_id', 'kind', name=op.f('uq_service_requests_open_table_id_kind'))
    )
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.create_index('ix_service_requests_shop_open', ['shop_id', 'open_table_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_handled_by_id'), ['handled_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_table_id'), ['table_id'], unique=False)

    with op.batch_alter_table('table_sessions') as batch_op:
        batch_op.add_column(sa.Column('service_calls', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade():
    with op.batch_alter_table('table_sessions') as batch_op:
        batch_op.drop_column('service_calls')
    op.drop_table('service_requests')  # its indexes go with it
