"""一数一源: data elements, their column mappings and correction tasks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_elements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('key_code', sa.String(length=64), nullable=False),
    sa.Column('authority_department_id', sa.Integer(), nullable=False),
    sa.Column('value_codes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authority_department_id'], ['departments.id'], name=op.f('fk_data_elements_authority_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_elements')),
    sa.UniqueConstraint('code', name=op.f('uq_data_elements_code'))
    )
    with op.batch_alter_table('data_elements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_elements_authority_department_id'), ['authority_department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_elements_subject'), ['subject'], unique=False)

    op.create_table('correction_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.Integer(), nullable=False),
    sa.Column('subject_key', sa.String(length=64), nullable=False),
    sa.Column('authority_dataset_id', sa.Integer(), nullable=False),
    sa.Column('authority_dataset_key', sa.String(length=200), nullable=False),
    sa.Column('authority_version_id', sa.Integer(), nullable=False),
    sa.Column('authority_version', sa.Integer(), nullable=False),
    sa.Column('authority_value', sa.Text(), nullable=True),
    sa.Column('other_dataset_id', sa.Integer(), nullable=False),
    sa.Column('other_dataset_key', sa.String(length=200), nullable=False),
    sa.Column('other_department_id', sa.Integer(), nullable=False),
    sa.Column('other_version_id', sa.Integer(), nullable=False),
    sa.Column('other_version', sa.Integer(), nullable=False),
    sa.Column('other_value', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('assigned_department_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('resolution_detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_department_id'], ['departments.id'], name=op.f('fk_correction_tasks_assigned_department_id_departments')),
    sa.ForeignKeyConstraint(['authority_dataset_id'], ['datasets.id'], name=op.f('fk_correction_tasks_authority_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['authority_version_id'], ['lake_versions.id'], name=op.f('fk_correction_tasks_authority_version_id_lake_versions')),
    sa.ForeignKeyConstraint(['element_id'], ['data_elements.id'], name=op.f('fk_correction_tasks_element_id_data_elements')),
    sa.ForeignKeyConstraint(['other_dataset_id'], ['datasets.id'], name=op.f('fk_correction_tasks_other_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['other_department_id'], ['departments.id'], name=op.f('fk_correction_tasks_other_department_id_departments')),
    sa.ForeignKeyConstraint(['other_version_id'], ['lake_versions.id'], name=op.f('fk_correction_tasks_other_version_id_lake_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_tasks'))
    )
    with op.batch_alter_table('correction_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_correction_tasks_assigned_status', ['assigned_department_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_correction_tasks_element_other_status', ['element_id', 'other_dataset_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_tasks_subject_key'), ['subject_key'], unique=False)

    op.create_table('element_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('dataset_key', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('column', sa.String(length=200), nullable=False),
    sa.Column('element_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_element_mappings_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_element_mappings_department_id_departments')),
    sa.ForeignKeyConstraint(['element_id'], ['data_elements.id'], name=op.f('fk_element_mappings_element_id_data_elements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_element_mappings')),
    sa.UniqueConstraint('dataset_id', 'column', name='uq_element_mappings_dataset_column'),
    sa.UniqueConstraint('dataset_id', 'element_id', name='uq_element_mappings_dataset_element')
    )
    with op.batch_alter_table('element_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_element_mappings_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_element_mappings_element_id'), ['element_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('element_mappings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_element_mappings_element_id'))
        batch_op.drop_index(batch_op.f('ix_element_mappings_dataset_id'))

    op.drop_table('element_mappings')
    with op.batch_alter_table('correction_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_tasks_subject_key'))
        batch_op.drop_index('ix_correction_tasks_element_other_status')
        batch_op.drop_index('ix_correction_tasks_assigned_status')

    op.drop_table('correction_tasks')
    with op.batch_alter_table('data_elements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_elements_subject'))
        batch_op.drop_index(batch_op.f('ix_data_elements_authority_department_id'))

    op.drop_table('data_elements')
