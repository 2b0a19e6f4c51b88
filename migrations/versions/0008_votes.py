"""votes: polls, rights, named and secret ballots

Revision ID: 0008
Revises: 0007

"""
from alembic import op
import sqlalchemy as sa

# Exact decimals: NUMERIC on PostgreSQL, text on SQLite, as meetings.core.db.ExactDecimal.
EXACT_DECIMAL = sa.Numeric(12, 4).with_variant(sa.String(32), "sqlite")


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('secret', sa.Boolean(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('max_choices', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('allow_change', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('eligible_count', sa.Integer(), nullable=False),
    sa.Column('eligible_weight', EXACT_DECIMAL, nullable=False),
    sa.Column('members_count', sa.Integer(), nullable=False),
    sa.Column('members_weight', EXACT_DECIMAL, nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_polls_agenda_item_id_agenda_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_polls_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_polls_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['meeting_sessions.id'], name=op.f('fk_polls_session_id_meeting_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls'))
    )
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_polls_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('ballots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('for_participant_id', sa.Integer(), nullable=False),
    sa.Column('cast_by_participant_id', sa.Integer(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('weight', EXACT_DECIMAL, nullable=False),
    sa.Column('receipt', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('cast_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cast_by_participant_id'], ['participants.id'], name=op.f('fk_ballots_cast_by_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['for_participant_id'], ['participants.id'], name=op.f('fk_ballots_for_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_ballots_poll_id_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballots')),
    sa.UniqueConstraint('poll_id', 'for_participant_id', name=op.f('uq_ballots_poll_id_for_participant_id')),
    sa.UniqueConstraint('receipt', name=op.f('uq_ballots_receipt'))
    )
    op.create_table('poll_rights',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('for_participant_id', sa.Integer(), nullable=False),
    sa.Column('caster_participant_id', sa.Integer(), nullable=False),
    sa.Column('weight', EXACT_DECIMAL, nullable=False),
    sa.ForeignKeyConstraint(['caster_participant_id'], ['participants.id'], name=op.f('fk_poll_rights_caster_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['for_participant_id'], ['participants.id'], name=op.f('fk_poll_rights_for_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_rights_poll_id_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('poll_id', 'for_participant_id', name=op.f('pk_poll_rights'))
    )
    with op.batch_alter_table('poll_rights', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_rights_caster_participant_id'), ['caster_participant_id'], unique=False)

    op.create_table('secret_choices',
    sa.Column('receipt', sa.String(length=40), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('weight', EXACT_DECIMAL, nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_secret_choices_poll_id_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('receipt', name=op.f('pk_secret_choices')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('secret_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secret_choices_poll_id'), ['poll_id'], unique=False)

    op.create_table('secret_voters',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('for_participant_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('sealed_receipt', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['for_participant_id'], ['participants.id'], name=op.f('fk_secret_voters_for_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_secret_voters_poll_id_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('poll_id', 'for_participant_id', name=op.f('pk_secret_voters')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('bodies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('polls_without_quorum', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('bodies', schema=None) as batch_op:
        batch_op.drop_column('polls_without_quorum')

    op.drop_table('secret_voters')
    with op.batch_alter_table('secret_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_secret_choices_poll_id'))

    op.drop_table('secret_choices')
    with op.batch_alter_table('poll_rights', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_rights_caster_participant_id'))

    op.drop_table('poll_rights')
    op.drop_table('ballots')
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_polls_meeting_id'))

    op.drop_table('polls')
