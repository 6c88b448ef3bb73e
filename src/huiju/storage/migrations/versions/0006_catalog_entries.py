"""政务信息资源目录: catalog entries, data items, change history, mounts, harvest sources and records,
and the full-text index over the entries' segmented text (FTS5 on SQLite, GIN on PostgreSQL)

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('harvest_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_harvest_sources_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_harvest_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_harvest_sources_name'))
    )
    op.create_table('catalog_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('item', sa.String(length=32), nullable=False),
    sa.Column('directory', sa.String(length=3), nullable=False),
    sa.Column('theme', sa.String(length=32), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('provider_name', sa.String(length=200), nullable=False),
    sa.Column('provider_code', sa.String(length=64), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=False),
    sa.Column('format_kind', sa.String(length=32), nullable=False),
    sa.Column('format_type', sa.String(length=32), nullable=False),
    sa.Column('share_type', sa.String(length=16), nullable=False),
    sa.Column('share_condition', sa.Text(), nullable=True),
    sa.Column('share_basis', sa.Text(), nullable=True),
    sa.Column('share_mode_kind', sa.String(length=16), nullable=False),
    sa.Column('share_mode_type', sa.String(length=16), nullable=False),
    sa.Column('open_class', sa.String(length=16), nullable=False),
    sa.Column('open_condition', sa.Text(), nullable=True),
    sa.Column('update_cycle', sa.String(length=16), nullable=False),
    sa.Column('publish_date', sa.Date(), nullable=True),
    sa.Column('related_codes', sa.JSON(), nullable=False),
    sa.Column('data_level', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('usage_count', sa.Integer(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('harvest_source_id', sa.Integer(), nullable=True),
    sa.Column('source_identifier', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_catalog_entries_department_id_departments')),
    sa.ForeignKeyConstraint(['harvest_source_id'], ['harvest_sources.id'], name=op.f('fk_catalog_entries_harvest_source_id_harvest_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_entries')),
    sa.UniqueConstraint('code', name=op.f('uq_catalog_entries_code')),
    sa.UniqueConstraint('harvest_source_id', 'source_identifier', name='uq_catalog_entries_harvest_identifier')
    )
    with op.batch_alter_table('catalog_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_entries_name'), ['name'], unique=False)
        batch_op.create_index('ix_catalog_entries_facets', ['state', 'department_id', 'classification', 'share_type', 'open_class', 'format_kind', 'update_cycle', 'theme', 'data_level', 'provider_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_entries_updated_at'), ['updated_at'], unique=False)

    op.create_table('catalog_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_catalog_changes_entry_id_catalog_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_changes'))
    )
    with op.batch_alter_table('catalog_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_changes_entry_id'), ['entry_id'], unique=False)

    op.create_table('catalog_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type_code', sa.String(length=1), nullable=False),
    sa.Column('length', sa.Integer(), nullable=True),
    sa.Column('sensitivity', sa.String(length=16), nullable=False),
    sa.Column('share_type', sa.String(length=16), nullable=False),
    sa.Column('is_key', sa.Boolean(), nullable=False),
    sa.Column('column', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_catalog_items_entry_id_catalog_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_items'))
    )
    with op.batch_alter_table('catalog_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_items_entry_id'), ['entry_id'], unique=False)

    op.create_table('catalog_mounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('mounted_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_catalog_mounts_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_catalog_mounts_entry_id_catalog_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_mounts')),
    sa.UniqueConstraint('entry_id', 'dataset_id', name='uq_catalog_mounts_entry_dataset')
    )
    with op.batch_alter_table('catalog_mounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_mounts_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_mounts_entry_id'), ['entry_id'], unique=False)

    op.create_table('harvest_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=500), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('harvested_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entries.id'], name=op.f('fk_harvest_records_entry_id_catalog_entries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['harvest_sources.id'], name=op.f('fk_harvest_records_source_id_harvest_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_harvest_records')),
    sa.UniqueConstraint('source_id', 'identifier', name='uq_harvest_records_source_identifier')
    )
    with op.batch_alter_table('harvest_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_harvest_records_source_id'), ['source_id'], unique=False)

    _create_search_index()


# The search index (catalog/search.py). SQLite: an external-content FTS5 table kept in step by triggers;
# a later migration that rebuilds catalog_entries in batch mode must recreate these triggers.
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE catalog_fts USING fts5(search_text, content='catalog_entries', content_rowid='id', "
    "tokenize='unicode61')",
    "CREATE TRIGGER catalog_fts_ai AFTER INSERT ON catalog_entries BEGIN "
    "INSERT INTO catalog_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER catalog_fts_ad AFTER DELETE ON catalog_entries BEGIN "
    "INSERT INTO catalog_fts(catalog_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER catalog_fts_au AFTER UPDATE OF search_text ON catalog_entries BEGIN "
    "INSERT INTO catalog_fts(catalog_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO catalog_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
POSTGRES_SEARCH = ("CREATE INDEX ix_catalog_entries_search ON catalog_entries "
                   "USING gin (to_tsvector('simple'::regconfig, search_text))")


def _create_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)
    else:
        op.execute(POSTGRES_SEARCH)


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("catalog_fts_ai", "catalog_fts_ad", "catalog_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS catalog_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_catalog_entries_search")



def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table('harvest_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_harvest_records_source_id'))

    op.drop_table('harvest_records')
    with op.batch_alter_table('catalog_mounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_mounts_entry_id'))
        batch_op.drop_index(batch_op.f('ix_catalog_mounts_dataset_id'))

    op.drop_table('catalog_mounts')
    with op.batch_alter_table('catalog_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_items_entry_id'))

    op.drop_table('catalog_items')
    with op.batch_alter_table('catalog_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_changes_entry_id'))

    op.drop_table('catalog_changes')
    with op.batch_alter_table('catalog_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_entries_updated_at'))
        batch_op.drop_index('ix_catalog_entries_facets')
        batch_op.drop_index(batch_op.f('ix_catalog_entries_name'))

    op.drop_table('catalog_entries')
    op.drop_table('harvest_sources')
