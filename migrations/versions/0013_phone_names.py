"""phones of a table session: each phone that joins a table's session gets a number (and may
give a name); cart lines and order lines record the phone that added them
(docs/phones.md)

Revision ID: 0013phonenames
Revises: 0009kitchenstations
Create Date: 2026-12-10 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import shopqr.models.base


# revision identifiers, used by Alembic.
revision = '0013phonenames'
down_revision = '0009kitchenstations'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('table_session_phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=24), nullable=True),
    sa.Column('created_at', shopqr.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['table_sessions.id'], name=op.f('fk_table_session_phones_session_id_table_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_table_session_phones')),
    sa.UniqueConstraint('session_id', 'seq', name=op.f('uq_table_session_phones_session_id_seq')),
    sa.UniqueConstraint('session_id', 'token', name=op.f('uq_table_session_phones_session_id_token'))
    )
    with op.batch_alter_table('table_sessions') as batch_op:
        batch_op.add_column(sa.Column('phone_count', sa.Integer(), nullable=False,
                                      server_default='0'))
    for table in ('cart_items', 'order_lines'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('phone_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_phone_id'), ['phone_id'],
                                  unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_phone_id_table_session_phones'),
                'table_session_phones', ['phone_id'], ['id'], ondelete='SET NULL')


def downgrade():
    for table in ('order_lines', 'cart_items'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f'fk_{table}_phone_id_table_session_phones'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_phone_id'))
            batch_op.drop_column('phone_id')
    with op.batch_alter_table('table_sessions') as batch_op:
        batch_op.drop_column('phone_count')
    op.drop_table('table_session_phones')
