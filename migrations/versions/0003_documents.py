"""documents

Revision ID: 0003
Revises: 0002

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # documents.current_version_id and document_versions.document_id reference each other: SQLite takes the
    # forward reference inline (it cannot add a constraint later); PostgreSQL gets it once both tables exist.
    sqlite = op.get_bind().dialect.name == "sqlite"
    current_version_fk = [sa.ForeignKeyConstraint(
        ['current_version_id'], ['document_versions.id'],
        name=op.f('fk_documents_current_version_id_document_versions'), ondelete='SET NULL')] if sqlite else []
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('audience_participant_ids', sa.JSON(), nullable=False),
    sa.Column('audience_roles', sa.JSON(), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_documents_agenda_item_id_agenda_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_documents_created_by_id_users'), ondelete='SET NULL'),
    *current_version_fk,
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_documents_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('document_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('original_size', sa.BigInteger(), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.Column('signed_by', sa.String(length=300), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_versions_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_document_versions_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_versions')),
    sa.UniqueConstraint('document_id', 'version_no', name=op.f('uq_document_versions_document_id_version_no'))
    )
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_versions_document_id'), ['document_id'], unique=False)
    if not sqlite:
        op.create_foreign_key(op.f('fk_documents_current_version_id_document_versions'), 'documents',
                              'document_versions', ['current_version_id'], ['id'], ondelete='SET NULL')



def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f('fk_documents_current_version_id_document_versions'), 'documents',
                           type_='foreignkey')
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_versions_document_id'))

    op.drop_table('document_versions')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_meeting_id'))

    op.drop_table('documents')
