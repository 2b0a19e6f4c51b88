"""follow me: the document page the chair shows

Revision ID: 0005
Revises: 0004

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings') as batch_op:
        batch_op.add_column(sa.Column('view_document_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('view_page', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('meetings') as batch_op:
        batch_op.drop_column('view_page')
        batch_op.drop_column('view_document_id')
