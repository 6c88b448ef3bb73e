"""catalog datasets and lineage, ingest jobs and quarantine

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('table_schema', sa.JSON(), nullable=True),
    sa.Column('schema_confirmed', sa.Boolean(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['current_version_id'], ['lake_versions.id'], name=op.f('fk_datasets_current_version_id_lake_versions')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_datasets_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('key', name=op.f('uq_datasets_key'))
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datasets_department_id'), ['department_id'], unique=False)

    op.create_table('ingest_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('input_name', sa.String(length=300), nullable=False),
    sa.Column('input_sm3', sa.String(length=64), nullable=True),
    sa.Column('input_bytes', sa.BigInteger(), nullable=True),
    sa.Column('encoding', sa.String(length=32), nullable=True),
    sa.Column('write_mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows_read', sa.BigInteger(), nullable=False),
    sa.Column('rows_accepted', sa.BigInteger(), nullable=False),
    sa.Column('rows_rejected', sa.BigInteger(), nullable=False),
    sa.Column('rule_counts', sa.JSON(), nullable=False),
    sa.Column('notices', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('kept_file', sa.String(length=500), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_ingest_jobs_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_ingest_jobs_department_id_departments')),
    sa.ForeignKeyConstraint(['version_id'], ['lake_versions.id'], name=op.f('fk_ingest_jobs_version_id_lake_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_jobs'))
    )
    with op.batch_alter_table('ingest_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_jobs_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ingest_jobs_department_id'), ['department_id'], unique=False)

    op.create_table('lineage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('rule_set_sm3', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_lineage_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['version_id'], ['lake_versions.id'], name=op.f('fk_lineage_version_id_lake_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage')),
    sa.UniqueConstraint('version_id', name=op.f('uq_lineage_version_id'))
    )
    with op.batch_alter_table('lineage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lineage_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('quarantine_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.BigInteger(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['ingest_jobs.id'], name=op.f('fk_quarantine_rows_job_id_ingest_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine_rows'))
    )
    with op.batch_alter_table('quarantine_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_rows_job_id'), ['job_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('quarantine_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_rows_job_id'))

    op.drop_table('quarantine_rows')
    with op.batch_alter_table('lineage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lineage_dataset_id'))

    op.drop_table('lineage')
    with op.batch_alter_table('ingest_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_jobs_department_id'))
        batch_op.drop_index(batch_op.f('ix_ingest_jobs_dataset_id'))

    op.drop_table('ingest_jobs')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datasets_department_id'))

    op.drop_table('datasets')
