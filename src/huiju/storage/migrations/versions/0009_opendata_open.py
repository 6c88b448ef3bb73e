"""开放: open datasets (CKAN packages) and open versions (CKAN resources)

Revision ID: 0009
Revises: 0005, 0006
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = ('0005', '0006')  # merges protection and catalog on this branch; the lead re-chains
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('open_datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('open_key', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('open_class', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('primary_key', sa.String(length=200), nullable=True),
    sa.Column('index_columns', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('themes', sa.JSON(), nullable=False),
    sa.Column('license_id', sa.String(length=64), nullable=False),
    sa.Column('update_frequency', sa.String(length=32), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('metadata_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('metadata_modified', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_open_datasets_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_open_datasets_department_id_departments')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_open_datasets_entry_id_catalog_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_datasets')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_open_datasets_entry_id')),
    sa.UniqueConstraint('name', name=op.f('uq_open_datasets_name')),
    sa.UniqueConstraint('open_key', name=op.f('uq_open_datasets_open_key')),
    sa.UniqueConstraint('uid', name=op.f('uq_open_datasets_uid'))
    )
    with op.batch_alter_table('open_datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_datasets_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_datasets_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_datasets_open_class'), ['open_class'], unique=False)
        batch_op.create_index('ix_open_datasets_status_modified', ['status', 'metadata_modified'], unique=False)

    op.create_table('open_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('open_dataset_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('source_version_id', sa.Integer(), nullable=False),
    sa.Column('lake_version_id', sa.Integer(), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('serving_path', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lake_version_id'], ['lake_versions.id'], name=op.f('fk_open_versions_lake_version_id_lake_versions')),
    sa.ForeignKeyConstraint(['open_dataset_id'], ['open_datasets.id'], name=op.f('fk_open_versions_open_dataset_id_open_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_version_id'], ['lake_versions.id'], name=op.f('fk_open_versions_source_version_id_lake_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_versions')),
    sa.UniqueConstraint('lake_version_id', name=op.f('uq_open_versions_lake_version_id')),
    sa.UniqueConstraint('open_dataset_id', 'number', name='uq_open_versions_dataset_number'),
    sa.UniqueConstraint('uid', name=op.f('uq_open_versions_uid'))
    )
    with op.batch_alter_table('open_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_versions_open_dataset_id'), ['open_dataset_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('open_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_versions_open_dataset_id'))

    op.drop_table('open_versions')
    with op.batch_alter_table('open_datasets', schema=None) as batch_op:
        batch_op.drop_index('ix_open_datasets_status_modified')
        batch_op.drop_index(batch_op.f('ix_open_datasets_open_class'))
        batch_op.drop_index(batch_op.f('ix_open_datasets_department_id'))
        batch_op.drop_index(batch_op.f('ix_open_datasets_dataset_id'))

    op.drop_table('open_datasets')
