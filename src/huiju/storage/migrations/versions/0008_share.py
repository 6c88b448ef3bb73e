"""共享交换: share requests and their thread, grants, grant tokens, exchange calls, subscriptions, 疑义 reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('share_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('entry_name', sa.String(length=200), nullable=False),
    sa.Column('dataset_key', sa.String(length=200), nullable=False),
    sa.Column('share_type', sa.String(length=16), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('consumer_department_id', sa.Integer(), nullable=False),
    sa.Column('provider_department_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('row_filter', sa.JSON(), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=False),
    sa.Column('delivery_mode', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('state_entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_department_id'], ['departments.id'], name=op.f('fk_share_requests_consumer_department_id_departments')),
    sa.ForeignKeyConstraint(['provider_department_id'], ['departments.id'], name=op.f('fk_share_requests_provider_department_id_departments')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_share_requests_requester_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_requests'))
    )
    with op.batch_alter_table('share_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_requests_consumer_department_id'), ['consumer_department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_requests_deadline_at'), ['deadline_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_requests_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_share_requests_provider_state', ['provider_department_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_requests_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_requests_state'), ['state'], unique=False)

    op.create_table('share_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('dataset_key', sa.String(length=200), nullable=False),
    sa.Column('consumer_department_id', sa.Integer(), nullable=False),
    sa.Column('provider_department_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('row_filter', sa.JSON(), nullable=False),
    sa.Column('masks', sa.JSON(), nullable=False),
    sa.Column('plaintext', sa.JSON(), nullable=False),
    sa.Column('order_field', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('state_reason', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('max_calls', sa.Integer(), nullable=True),
    sa.Column('max_rows', sa.Integer(), nullable=True),
    sa.Column('calls_used', sa.Integer(), nullable=False),
    sa.Column('rows_used', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_department_id'], ['departments.id'], name=op.f('fk_share_grants_consumer_department_id_departments')),
    sa.ForeignKeyConstraint(['provider_department_id'], ['departments.id'], name=op.f('fk_share_grants_provider_department_id_departments')),
    sa.ForeignKeyConstraint(['request_id'], ['share_requests.id'], name=op.f('fk_share_grants_request_id_share_requests')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_share_grants_requester_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_grants')),
    sa.UniqueConstraint('request_id', name=op.f('uq_share_grants_request_id'))
    )
    with op.batch_alter_table('share_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_grants_consumer_department_id'), ['consumer_department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_grants_dataset_key'), ['dataset_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_grants_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_grants_provider_department_id'), ['provider_department_id'], unique=False)

    op.create_table('share_request_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=True),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['share_requests.id'], name=op.f('fk_share_request_log_request_id_share_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_request_log'))
    )
    with op.batch_alter_table('share_request_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_request_log_request_id'), ['request_id'], unique=False)

    op.create_table('share_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('consumer_department_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_hash', sa.String(length=64), nullable=True),
    sa.Column('signature', sa.Text(), nullable=True),
    sa.Column('key_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_department_id'], ['departments.id'], name=op.f('fk_share_calls_consumer_department_id_departments')),
    sa.ForeignKeyConstraint(['grant_id'], ['share_grants.id'], name=op.f('fk_share_calls_grant_id_share_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_calls'))
    )
    with op.batch_alter_table('share_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_calls_consumer_department_id'), ['consumer_department_id'], unique=False)
        batch_op.create_index('ix_share_calls_grant_created', ['grant_id', 'created_at'], unique=False)

    op.create_table('share_grant_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['share_grants.id'], name=op.f('fk_share_grant_tokens_grant_id_share_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_share_grant_tokens_token_id_api_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_grant_tokens')),
    sa.UniqueConstraint('token_id', name=op.f('uq_share_grant_tokens_token_id'))
    )
    with op.batch_alter_table('share_grant_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_grant_tokens_grant_id'), ['grant_id'], unique=False)

    op.create_table('share_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('dataset_key', sa.String(length=200), nullable=False),
    sa.Column('consumer_department_id', sa.Integer(), nullable=False),
    sa.Column('provider_department_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('field', sa.String(length=200), nullable=False),
    sa.Column('reported_value', sa.Text(), nullable=True),
    sa.Column('suggested_value', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_department_id'], ['departments.id'], name=op.f('fk_share_objections_consumer_department_id_departments')),
    sa.ForeignKeyConstraint(['grant_id'], ['share_grants.id'], name=op.f('fk_share_objections_grant_id_share_grants')),
    sa.ForeignKeyConstraint(['provider_department_id'], ['departments.id'], name=op.f('fk_share_objections_provider_department_id_departments')),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_share_objections_reporter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_objections'))
    )
    with op.batch_alter_table('share_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_objections_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index('ix_share_objections_provider_status', ['provider_department_id', 'status'], unique=False)

    op.create_table('share_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('webhook_url', sa.String(length=1000), nullable=True),
    sa.Column('delivered_version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['share_grants.id'], name=op.f('fk_share_subscriptions_grant_id_share_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_subscriptions'))
    )
    with op.batch_alter_table('share_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_subscriptions_grant_id'), ['grant_id'], unique=False)

    op.create_table('share_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['share_subscriptions.id'], name=op.f('fk_share_deliveries_subscription_id_share_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_deliveries'))
    )
    with op.batch_alter_table('share_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_deliveries_subscription_id'), ['subscription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('share_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_deliveries_subscription_id'))

    op.drop_table('share_deliveries')
    with op.batch_alter_table('share_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_subscriptions_grant_id'))

    op.drop_table('share_subscriptions')
    with op.batch_alter_table('share_objections', schema=None) as batch_op:
        batch_op.drop_index('ix_share_objections_provider_status')
        batch_op.drop_index(batch_op.f('ix_share_objections_grant_id'))

    op.drop_table('share_objections')
    with op.batch_alter_table('share_grant_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_grant_tokens_grant_id'))

    op.drop_table('share_grant_tokens')
    with op.batch_alter_table('share_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_share_calls_grant_created')
        batch_op.drop_index(batch_op.f('ix_share_calls_consumer_department_id'))

    op.drop_table('share_calls')
    with op.batch_alter_table('share_request_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_request_log_request_id'))

    op.drop_table('share_request_log')
    with op.batch_alter_table('share_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_grants_provider_department_id'))
        batch_op.drop_index(batch_op.f('ix_share_grants_entry_id'))
        batch_op.drop_index(batch_op.f('ix_share_grants_dataset_key'))
        batch_op.drop_index(batch_op.f('ix_share_grants_consumer_department_id'))

    op.drop_table('share_grants')
    with op.batch_alter_table('share_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_requests_state'))
        batch_op.drop_index(batch_op.f('ix_share_requests_requester_id'))
        batch_op.drop_index('ix_share_requests_provider_state')
        batch_op.drop_index(batch_op.f('ix_share_requests_entry_id'))
        batch_op.drop_index(batch_op.f('ix_share_requests_deadline_at'))
        batch_op.drop_index(batch_op.f('ix_share_requests_consumer_department_id'))

    op.drop_table('share_requests')
