"""Ingest sources kept on the platform, the job queue (claims, heartbeats, retries, progress) and job logs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ingest_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=True),
    sa.Column('sealed_key_version', sa.Integer(), nullable=True),
    sa.Column('write_mode', sa.String(length=16), nullable=False),
    sa.Column('key_columns', sa.JSON(), nullable=False),
    sa.Column('cursor_column', sa.String(length=200), nullable=True),
    sa.Column('cursor_value', sa.Text(), nullable=True),
    sa.Column('schedule', sa.String(length=100), nullable=True),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_ingest_sources_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_ingest_sources_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_ingest_sources_name'))
    )
    with op.batch_alter_table('ingest_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_sources_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ingest_sources_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ingest_sources_next_run_at'), ['next_run_at'], unique=False)

    op.create_table('ingest_job_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['ingest_jobs.id'], name=op.f('fk_ingest_job_log_job_id_ingest_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_job_log'))
    )
    with op.batch_alter_table('ingest_job_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_job_log_job_id'), ['job_id'], unique=False)

    with op.batch_alter_table('ingest_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('trigger', sa.String(length=16), nullable=False, server_default='manual'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('run_after', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rows_done', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('rows_total', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('cursor_from', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('cursor_to', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_ingest_jobs_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ingest_jobs_status'), ['status'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_ingest_jobs_source_id_ingest_sources'), 'ingest_sources', ['source_id'], ['id'])
    # existing jobs got their values from the defaults above; new rows always get them from the models
    with op.batch_alter_table('ingest_jobs', schema=None) as batch_op:
        for name in ('trigger', 'attempts', 'rows_done'):
            batch_op.alter_column(name, server_default=None)



def downgrade() -> None:
    with op.batch_alter_table('ingest_jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ingest_jobs_source_id_ingest_sources'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_ingest_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_ingest_jobs_source_id'))
        batch_op.drop_column('cursor_to')
        batch_op.drop_column('cursor_from')
        batch_op.drop_column('rows_total')
        batch_op.drop_column('rows_done')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('run_after')
        batch_op.drop_column('attempts')
        batch_op.drop_column('trigger')
        batch_op.drop_column('source_id')

    with op.batch_alter_table('ingest_job_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_job_log_job_id'))

    op.drop_table('ingest_job_log')
    with op.batch_alter_table('ingest_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_sources_next_run_at'))
        batch_op.drop_index(batch_op.f('ix_ingest_sources_department_id'))
        batch_op.drop_index(batch_op.f('ix_ingest_sources_dataset_id'))

    op.drop_table('ingest_sources')
