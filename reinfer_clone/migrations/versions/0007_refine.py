"""refine: model regions, the region of each stored prediction, who labelled

Revision ID: 0007_refine
Revises: 0006

`model_versions.regions` holds the centroids of the data's regions found at
training time (the balance factor); `predictions.region` the region of each
scored comment, for the `rebalance` queue. Both are null for versions trained
before: their rating keeps its mean-AP score and `rebalance` falls back to
oldest first. `annotations.updated_by` records who wrote a labelling; null
(unknown) for labellings written before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_refine'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('model_versions') as batch:
        batch.add_column(sa.Column('regions', sa.JSON(), nullable=True))
    with op.batch_alter_table('predictions') as batch:
        batch.add_column(sa.Column('region', sa.Integer(), nullable=True))
    with op.batch_alter_table('annotations') as batch:
        batch.add_column(sa.Column('updated_by', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('annotations') as batch:
        batch.drop_column('updated_by')
    with op.batch_alter_table('predictions') as batch:
        batch.drop_column('region')
    with op.batch_alter_table('model_versions') as batch:
        batch.drop_column('regions')
