"""live room: current item start time and pauses, hall display tokens

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('current_item_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('current_item_paused_seconds', sa.Integer(), nullable=False,
                                      server_default='0'))

    op.create_table('display_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_display_tokens_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_display_tokens_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_display_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_display_tokens_token_hash'))
    )
    with op.batch_alter_table('display_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_display_tokens_meeting_id'), ['meeting_id'], unique=False)


def downgrade():
    with op.batch_alter_table('display_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_display_tokens_meeting_id'))
    op.drop_table('display_tokens')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('current_item_paused_seconds')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('current_item_started_at')
