"""annotations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:46:33.206541
"""
from alembic import op
import sqlalchemy as sa
import reinfer_clone.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('annotations',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dataset_id', sa.String(length=16), nullable=False),
    sa.Column('comment_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_id', sa.String(length=16), nullable=False),
    sa.Column('labelling', sa.JSON(), nullable=False),
    sa.Column('entities', sa.JSON(), nullable=True),
    sa.Column('moon_forms', sa.JSON(), nullable=True),
    sa.Column('reviewed', sa.Boolean(), nullable=False),
    sa.Column('updated_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_pk'], ['comments.pk'], name=op.f('fk_annotations_comment_pk_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_annotations_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_annotations_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_annotations')),
    sa.UniqueConstraint('dataset_id', 'comment_pk', name=op.f('uq_annotations_dataset_id_comment_pk'))
    )
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index('ix_annotations_comment', ['comment_pk'], unique=False)
        batch_op.create_index('ix_annotations_dataset_source', ['dataset_id', 'source_id', 'pk'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index('ix_annotations_dataset_source')
        batch_op.drop_index('ix_annotations_comment')

    op.drop_table('annotations')
