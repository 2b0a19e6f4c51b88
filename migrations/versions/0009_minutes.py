"""minutes: drafts with revisions, signatures in order, signing credentials, seals

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 18:46:15.266146

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('body_seals',
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('seal_png', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['body_id'], ['bodies.id'], name=op.f('fk_body_seals_body_id_bodies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('body_id', name=op.f('pk_body_seals'))
    )
    op.create_table('signing_credentials',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('p12_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=False),
    sa.Column('not_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signature_png', sa.LargeBinary(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signing_credentials_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_signing_credentials'))
    )
    op.create_table('minutes',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('general_notes', sa.Text(), nullable=False),
    sa.Column('closing_text', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('secretary_user_id', sa.Integer(), nullable=True),
    sa.Column('chair_user_id', sa.Integer(), nullable=True),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalized_by_id', sa.Integer(), nullable=True),
    sa.Column('record_sha256', sa.String(length=64), nullable=True),
    sa.Column('audit_length', sa.Integer(), nullable=True),
    sa.Column('audit_head', sa.String(length=64), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'finalized', 'signed')", name=op.f('ck_minutes_state')),
    sa.ForeignKeyConstraint(['chair_user_id'], ['users.id'], name=op.f('fk_minutes_chair_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['finalized_by_id'], ['users.id'], name=op.f('fk_minutes_finalized_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_minutes_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['secretary_user_id'], ['users.id'], name=op.f('fk_minutes_secretary_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('meeting_id', name=op.f('pk_minutes'))
    )
    op.create_table('minutes_external_requests',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('base_pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_minutes_external_requests_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_minutes_external_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes_external_requests'))
    )
    with op.batch_alter_table('minutes_external_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_minutes_external_requests_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('minutes_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('signer_name', sa.String(length=300), nullable=False),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.CheckConstraint("method IN ('server', 'external')", name=op.f('ck_minutes_signatures_method')),
    sa.CheckConstraint("step IN ('secretary', 'chair', 'seal')", name=op.f('ck_minutes_signatures_step')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_minutes_signatures_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_minutes_signatures_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes_signatures')),
    sa.UniqueConstraint('meeting_id', 'step', name=op.f('uq_minutes_signatures_meeting_id_step'))
    )
    with op.batch_alter_table('minutes_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_minutes_signatures_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('minutes_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('conclusions', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_minutes_entries_agenda_item_id_agenda_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_minutes_entries_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_minutes_entries_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes_entries')),
    sa.UniqueConstraint('meeting_id', 'agenda_item_id', name=op.f('uq_minutes_entries_meeting_id_agenda_item_id'))
    )
    with op.batch_alter_table('minutes_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_minutes_entries_agenda_item_id'), ['agenda_item_id'], unique=False)

    op.create_table('minutes_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_minutes_revisions_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_minutes_revisions_agenda_item_id_agenda_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_minutes_revisions_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes_revisions'))
    )
    with op.batch_alter_table('minutes_revisions', schema=None) as batch_op:
        batch_op.create_index('ix_minutes_revisions_meeting_item', ['meeting_id', 'agenda_item_id'], unique=False)

    


def downgrade():
    
    with op.batch_alter_table('minutes_revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_minutes_revisions_meeting_item')

    op.drop_table('minutes_revisions')
    with op.batch_alter_table('minutes_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_minutes_entries_agenda_item_id'))

    op.drop_table('minutes_entries')
    with op.batch_alter_table('minutes_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_minutes_signatures_meeting_id'))

    op.drop_table('minutes_signatures')
    with op.batch_alter_table('minutes_external_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_minutes_external_requests_meeting_id'))

    op.drop_table('minutes_external_requests')
    op.drop_table('minutes')
    op.drop_table('signing_credentials')
    op.drop_table('body_seals')
    
