"""open-data portal: accounts, OpenID logins, keys, conditional open, interaction, statistics

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 06:04:55.265441
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oidc_logins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('next_path', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_logins')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_oidc_logins_state_hash'))
    )
    op.create_table('data_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('replied_by', sa.Integer(), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_data_requests_department_id_departments')),
    sa.ForeignKeyConstraint(['replied_by'], ['users.id'], name=op.f('fk_data_requests_replied_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_requests_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_requests'))
    )
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_requests_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_requests_user_id'), ['user_id'], unique=False)

    op.create_table('oidc_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oidc_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_identities')),
    sa.UniqueConstraint('issuer', 'subject', name='uq_oidc_identities_issuer_subject')
    )
    with op.batch_alter_table('oidc_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_identities_user_id'), ['user_id'], unique=False)

    op.create_table('portal_accounts',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=False),
    sa.Column('realname_level', sa.String(length=16), nullable=False),
    sa.Column('phone_masked', sa.String(length=20), nullable=False),
    sa.Column('name_masked', sa.String(length=50), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=True),
    sa.Column('realname_reference', sa.String(length=100), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_portal_accounts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_portal_accounts'))
    )
    op.create_table('showcase_apps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('entry_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], name=op.f('fk_showcase_apps_reviewed_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_showcase_apps_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_showcase_apps'))
    )
    with op.batch_alter_table('showcase_apps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_showcase_apps_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_showcase_apps_user_id'), ['user_id'], unique=False)

    op.create_table('error_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('replied_by', sa.Integer(), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_error_reports_department_id_departments')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_error_reports_entry_id_catalog_entries')),
    sa.ForeignKeyConstraint(['replied_by'], ['users.id'], name=op.f('fk_error_reports_replied_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_error_reports_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_error_reports'))
    )
    with op.batch_alter_table('error_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_error_reports_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_error_reports_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_error_reports_user_id'), ['user_id'], unique=False)

    op.create_table('open_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('entry_title', sa.String(length=300), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('commitments', sa.JSON(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('agreement_version', sa.String(length=32), nullable=False),
    sa.Column('agreement_sm3', sa.String(length=64), nullable=False),
    sa.Column('agreement_accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_open_applications_decided_by_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_open_applications_department_id_departments')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_open_applications_entry_id_catalog_entries')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_open_applications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_applications'))
    )
    with op.batch_alter_table('open_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_applications_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_applications_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_applications_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_applications_user_id'), ['user_id'], unique=False)

    op.create_table('portal_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('moderated_by', sa.Integer(), nullable=True),
    sa.Column('moderated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_portal_comments_entry_id_catalog_entries')),
    sa.ForeignKeyConstraint(['moderated_by'], ['users.id'], name=op.f('fk_portal_comments_moderated_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_portal_comments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_comments'))
    )
    with op.batch_alter_table('portal_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_comments_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_comments_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_comments_user_id'), ['user_id'], unique=False)

    op.create_table('usage_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_usage_counts_department_id_departments')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_usage_counts_entry_id_catalog_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_counts')),
    sa.UniqueConstraint('day', 'entry_id', 'kind', name='uq_usage_counts_day_entry_kind')
    )
    with op.batch_alter_table('usage_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_counts_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_counts_entry_id'), ['entry_id'], unique=False)

    op.create_table('portal_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('rate_per_minute', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['open_applications.id'], name=op.f('fk_portal_keys_application_id_open_applications')),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_portal_keys_token_id_api_tokens'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_portal_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_keys')),
    sa.UniqueConstraint('token_id', name=op.f('uq_portal_keys_token_id')),
    sa.UniqueConstraint('token_prefix', name=op.f('uq_portal_keys_token_prefix'))
    )
    with op.batch_alter_table('portal_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_keys_user_id'), ['user_id'], unique=False)

    op.create_table('usage_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('outcome_url', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['open_applications.id'], name=op.f('fk_usage_reports_application_id_open_applications')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_usage_reports_department_id_departments')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_usage_reports_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_reports'))
    )
    with op.batch_alter_table('usage_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_reports_application_id'), ['application_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('usage_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_reports_application_id'))

    op.drop_table('usage_reports')
    with op.batch_alter_table('portal_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_keys_user_id'))

    op.drop_table('portal_keys')
    with op.batch_alter_table('usage_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_counts_entry_id'))
        batch_op.drop_index(batch_op.f('ix_usage_counts_department_id'))

    op.drop_table('usage_counts')
    with op.batch_alter_table('portal_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_comments_user_id'))
        batch_op.drop_index(batch_op.f('ix_portal_comments_status'))
        batch_op.drop_index(batch_op.f('ix_portal_comments_entry_id'))

    op.drop_table('portal_comments')
    with op.batch_alter_table('open_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_applications_user_id'))
        batch_op.drop_index(batch_op.f('ix_open_applications_status'))
        batch_op.drop_index(batch_op.f('ix_open_applications_entry_id'))
        batch_op.drop_index(batch_op.f('ix_open_applications_department_id'))

    op.drop_table('open_applications')
    with op.batch_alter_table('error_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_error_reports_user_id'))
        batch_op.drop_index(batch_op.f('ix_error_reports_entry_id'))
        batch_op.drop_index(batch_op.f('ix_error_reports_department_id'))

    op.drop_table('error_reports')
    with op.batch_alter_table('showcase_apps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_showcase_apps_user_id'))
        batch_op.drop_index(batch_op.f('ix_showcase_apps_status'))

    op.drop_table('showcase_apps')
    op.drop_table('portal_accounts')
    with op.batch_alter_table('oidc_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_identities_user_id'))

    op.drop_table('oidc_identities')
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_requests_user_id'))
        batch_op.drop_index(batch_op.f('ix_data_requests_department_id'))

    op.drop_table('data_requests')
    op.drop_table('oidc_logins')
