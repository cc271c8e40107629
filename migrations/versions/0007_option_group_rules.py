"""option groups: single-choice or multi-select with min/max; soft-deleted groups and options

Existing groups keep their meaning: single-choice (exactly one option, the default when the
guest picks none).

Revision ID: 0007optionrules
Revises: 0008servicerequests
Create Date: 2026-12-03 13:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007optionrules'
down_revision = '0008servicerequests'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('option_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='single',
                                      nullable=False))
        batch_op.add_column(sa.Column('min_choices', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('max_choices', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.add_column(sa.Column('is_deleted', sa.Boolean(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('options', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_deleted', sa.Boolean(), server_default='0',
                                      nullable=False))


def downgrade():
    # Soft-deleted groups and options were gone for guests; going down they would come back.
    # Cart lines holding them are dropped with them (order lines are snapshots).
    op.execute("DELETE FROM cart_items WHERE id IN (SELECT cart_item_id FROM cart_item_options "
               "WHERE option_id IN (SELECT id FROM options WHERE is_deleted = 1 OR group_id IN "
               "(SELECT id FROM option_groups WHERE is_deleted = 1)))")
    op.execute("DELETE FROM options WHERE is_deleted = 1 OR group_id IN "
               "(SELECT id FROM option_groups WHERE is_deleted = 1)")
    op.execute("DELETE FROM option_groups WHERE is_deleted = 1")
    # Multi-select groups cannot be told apart from single-choice ones any more: drop them
    # (and the cart lines holding their options) rather than turn them into a choice of one.
    op.execute("DELETE FROM cart_items WHERE id IN (SELECT cart_item_id FROM cart_item_options "
               "WHERE option_id IN (SELECT id FROM options WHERE group_id IN "
               "(SELECT id FROM option_groups WHERE kind = 'multi')))")
    op.execute("DELETE FROM options WHERE group_id IN "
               "(SELECT id FROM option_groups WHERE kind = 'multi')")
    op.execute("DELETE FROM option_groups WHERE kind = 'multi'")
    with op.batch_alter_table('options', schema=None) as batch_op:
        batch_op.drop_column('is_deleted')
    with op.batch_alter_table('option_groups', schema=None) as batch_op:
        batch_op.drop_column('is_deleted')
        batch_op.drop_column('max_choices')
        batch_op.drop_column('min_choices')
        batch_op.drop_column('kind')
