"""document reads

Revision ID: 0004
Revises: 0003

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_reads',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('first_opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opens', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_reads_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_document_reads_participant_id_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'participant_id', name=op.f('pk_document_reads'))
    )
    op.create_index(op.f('ix_document_reads_participant_id'), 'document_reads', ['participant_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_document_reads_participant_id'), table_name='document_reads')
    op.drop_table('document_reads')
