"""foundation: users, tokens, projects, sources, buckets, comments

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 22:27:32.702097
"""
from alembic import op
import sqlalchemy as sa
import reinfer_clone.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('projects',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('name', name=op.f('uq_projects_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('username', sa.String(length=256), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('buckets',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('project_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('bucket_type', sa.String(length=32), nullable=False),
    sa.Column('created_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_buckets_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buckets')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_buckets_project_id_name'))
    )
    op.create_table('user_global_permissions',
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_global_permissions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'code', name=op.f('pk_user_global_permissions'))
    )
    op.create_table('user_project_permissions',
    sa.Column('user_id', sa.String(length=16), nullable=False),
    sa.Column('project', sa.String(length=256), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_project_permissions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'project', 'code', name=op.f('pk_user_project_permissions'))
    )
    with op.batch_alter_table('user_project_permissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_project_permissions_project'), ['project'], unique=False)

    op.create_table('sources',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('project_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=32), nullable=False),
    sa.Column('should_translate', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('email_transform_tag', sa.String(length=128), nullable=True),
    sa.Column('sensitive_properties', sa.JSON(), nullable=False),
    sa.Column('bucket_id', sa.String(length=16), nullable=True),
    sa.Column('created_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bucket_id'], ['buckets.id'], name=op.f('fk_sources_bucket_id_buckets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_sources_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sources')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_sources_project_id_name'))
    )
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sources_bucket_id'), ['bucket_id'], unique=False)

    op.create_table('comments',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_id', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=1024), nullable=False),
    sa.Column('timestamp', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('thread_id', sa.Text(), nullable=True),
    sa.Column('messages', sa.JSON(), nullable=False),
    sa.Column('user_properties', sa.JSON(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_modified', reinfer_clone.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_comments_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_comments')),
    sa.UniqueConstraint('source_id', 'external_id', name=op.f('uq_comments_source_id_external_id'))
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index('ix_comments_source_timestamp', ['source_id', 'timestamp', 'external_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_source_timestamp')

    op.drop_table('comments')
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sources_bucket_id'))

    op.drop_table('sources')
    with op.batch_alter_table('user_project_permissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_project_permissions_project'))

    op.drop_table('user_project_permissions')
    op.drop_table('user_global_permissions')
    op.drop_table('buckets')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('projects')
