"""audit events and quotas

Revision ID: 0008_audit_quotas
Revises: 0007_refine

`audit_events` is the append-only log of section 19.1 (ids as JSON lists, and a
snapshot of the names they referenced); `quotas` holds the hard limits an
admin has set (kinds without a row use the server's default).
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_audit_quotas'
down_revision = '0007_refine'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_events',
        sa.Column('id', sa.String(length=16), nullable=False),
        sa.Column('event_type', sa.String(length=64), nullable=False),
        sa.Column('actor_user_id', sa.String(length=16), nullable=False),
        sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
        sa.Column('project_ids', sa.JSON(), nullable=False),
        sa.Column('dataset_ids', sa.JSON(), nullable=False),
        sa.Column('source_ids', sa.JSON(), nullable=False),
        sa.Column('user_ids', sa.JSON(), nullable=False),
        sa.Column('trigger_ids', sa.JSON(), nullable=False),
        sa.Column('refs', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    op.create_index('ix_audit_events_timestamp_id', 'audit_events', ['timestamp', 'id'], unique=False)
    op.create_table(
        'quotas',
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('hard_limit', sa.BigInteger(), nullable=False),
        sa.Column('auto_increase_up_to', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('kind', name=op.f('pk_quotas')),
    )


def downgrade():
    op.drop_table('quotas')
    op.drop_index('ix_audit_events_timestamp_id', table_name='audit_events')
    op.drop_table('audit_events')
