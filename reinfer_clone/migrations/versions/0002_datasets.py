"""datasets: datasets, their sources, Labelf model ids, label groups and label defs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:34:54.658927
"""
from alembic import op
import sqlalchemy as sa
import reinfer_clone.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('datasets',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('project_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('model_family', sa.String(length=64), nullable=False),
    sa.Column('has_sentiment', sa.Boolean(), nullable=False),
    sa.Column('entity_defs', sa.JSON(), nullable=False),
    sa.Column('general_fields', sa.JSON(), nullable=False),
    sa.Column('dataset_flags', sa.JSON(), nullable=False),
    sa.Column('model_config', sa.JSON(), nullable=True),
    sa.Column('created_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_datasets_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_datasets_project_id_name'))
    )
    op.create_table('label_groups',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dataset_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_label_groups_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_label_groups')),
    sa.UniqueConstraint('dataset_id', 'name', name=op.f('uq_label_groups_dataset_id_name'))
    )
    op.create_table('labelf_models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dataset_id', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_labelf_models_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labelf_models')),
    sa.UniqueConstraint('dataset_id', name=op.f('uq_labelf_models_dataset_id')),
    sqlite_autoincrement=True
    )
    op.create_table('dataset_sources',
    sa.Column('dataset_id', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_sources_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_dataset_sources_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'source_id', name=op.f('pk_dataset_sources'))
    )
    with op.batch_alter_table('dataset_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_sources_source_id'), ['source_id'], unique=False)

    op.create_table('label_defs',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('group_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=1024), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('pretrained', sa.JSON(), nullable=True),
    sa.Column('moon_form', sa.JSON(), nullable=True),
    sa.Column('trainable', sa.Boolean(), nullable=False),
    sa.Column('created_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_pk'], ['label_groups.pk'], name=op.f('fk_label_defs_group_pk_label_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_label_defs')),
    sa.UniqueConstraint('group_pk', 'name', name=op.f('uq_label_defs_group_pk_name'))
    )


def downgrade() -> None:
    op.drop_table('label_defs')
    with op.batch_alter_table('dataset_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_sources_source_id'))

    op.drop_table('dataset_sources')
    op.drop_table('labelf_models')
    op.drop_table('label_groups')
    op.drop_table('datasets')
