"""speakers' queue: speaker requests, speaking-time limits per body

Revision ID: 0007
Revises: 0006

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('speaker_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('limit_seconds', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('speech', 'question', 'point_of_order')", name=op.f('ck_speaker_requests_kind')),
    sa.CheckConstraint("state IN ('waiting', 'speaking', 'done', 'withdrawn')", name=op.f('ck_speaker_requests_state')),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_speaker_requests_agenda_item_id_agenda_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_speaker_requests_granted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_speaker_requests_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_speaker_requests_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_speaker_requests_withdrawn_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_speaker_requests'))
    )
    with op.batch_alter_table('speaker_requests', schema=None) as batch_op:
        batch_op.create_index('ix_speaker_requests_meeting_state', ['meeting_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_speaker_requests_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index('uq_speaker_requests_speaking', ['meeting_id'], unique=True, sqlite_where=sa.text("state = 'speaking'"), postgresql_where=sa.text("state = 'speaking'"))
        batch_op.create_index('uq_speaker_requests_waiting', ['participant_id', 'kind'], unique=True, sqlite_where=sa.text("state = 'waiting'"), postgresql_where=sa.text("state = 'waiting'"))

    with op.batch_alter_table('bodies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('speech_limit_seconds', sa.Integer(), server_default='300', nullable=False))
        batch_op.add_column(sa.Column('question_limit_seconds', sa.Integer(), server_default='180', nullable=False))
        batch_op.add_column(sa.Column('point_of_order_limit_seconds', sa.Integer(), server_default='60', nullable=False))


def downgrade():
    with op.batch_alter_table('bodies', schema=None) as batch_op:
        batch_op.drop_column('point_of_order_limit_seconds')
        batch_op.drop_column('question_limit_seconds')
        batch_op.drop_column('speech_limit_seconds')

    with op.batch_alter_table('speaker_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_speaker_requests_waiting', sqlite_where=sa.text("state = 'waiting'"), postgresql_where=sa.text("state = 'waiting'"))
        batch_op.drop_index('uq_speaker_requests_speaking', sqlite_where=sa.text("state = 'speaking'"), postgresql_where=sa.text("state = 'speaking'"))
        batch_op.drop_index(batch_op.f('ix_speaker_requests_participant_id'))
        batch_op.drop_index('ix_speaker_requests_meeting_state')

    op.drop_table('speaker_requests')
