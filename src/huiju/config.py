"""One settings object for the whole platform (environment prefix ``HUIJU_``)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting is documented in docs/settings.md; keep the two in step."""

    model_config = SettingsConfigDict(env_prefix="HUIJU_", env_file=None, extra="ignore")

    home: Path = Field(default=Path("~/.huiju"), description="Platform home folder.")
    database_url: str = Field(default="", description="Metadata database; empty = SQLite file in home.")
    lake_url: str = Field(default="", description="Lake folder of Parquet files; empty = home/lake.")
    lake_engine: str = Field(default="duckdb", description="Query engine over the lake.")
    lake_page_threads: int = Field(default=1, ge=1, le=256,
                                   description="DuckDB threads for one page of rows (share API, previews).")
    secret_key: str = Field(default="", description="Signs CSRF tokens; empty = generated into home/secret.key.")
    cookie_secure: bool = Field(default=False, description="Force the Secure flag on cookies (always set over HTTPS).")
    session_hours: int = Field(default=8, ge=1, description="Web session lifetime in hours.")
    token_days: int = Field(default=90, ge=1, description="Default API-token lifetime in days.")
    default_locale: str = Field(default="zh_CN", description="Language of pages and messages by default.")
    host: str = Field(default="127.0.0.1", description="Address `huiju serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `huiju serve` listens on.")
    ingest_max_columns: int = Field(default=60, ge=1, description="Widest file ingest accepts, in columns.")
    upload_max_mb: int = Field(default=1024, ge=1, description="Largest file accepted by an upload, in MiB.")
    catalog_code_profile: str = Field(
        default="national",
        description="Resource-code layout: national (编制指南), regional, or a plugin's profile name.")
    catalog_open_labels: str = Field(
        default="national", description="Local labels of the open classes: national, shanghai, zhejiang, guangzhou.")
    catalog_overdue_grace_days: int = Field(
        default=0, ge=0, description="Days past an entry's update cycle before it is flagged overdue.")
    freeze_heap: bool = Field(default=True, description="Warm up and freeze the server's start-up heap so garbage "
                              "collection never rescans it (keeps tail latency low).")
    workers: int = Field(default=1, ge=0, description="Job-runner threads inside `huiju serve` (0 = none; run `huiju worker`).")
    job_poll_seconds: float = Field(default=5.0, gt=0, description="How often an idle worker looks for due jobs.")
    job_retries: int = Field(default=3, ge=0, description="Times a failed source job is tried again.")
    job_backoff_seconds: float = Field(default=30.0, ge=0, description="Wait before the first retry; doubles each time.")
    job_backoff_max_seconds: float = Field(default=3600.0, ge=0, description="Longest wait between retries.")
    job_heartbeat_seconds: float = Field(default=10.0, gt=0, description="How often a running job says it is alive.")
    job_stale_seconds: float = Field(default=120.0, gt=0,
                                     description="A running job silent this long is marked interrupted.")
    timezone: str = Field(default="Asia/Shanghai", description="Time zone of cron schedules.")
    source_roots: str = Field(default="", description="Folders that file and SQLite-file sources may read "
                                                      "(separated by the path separator); empty = home/sources.")
    audit_checkpoint_every: int = Field(default=1000, ge=1, description="Events between signed audit checkpoints.")
    share_reply_days: int = Field(default=10, ge=1, description="Working days a providing department has to answer a "
                                  "conditional share request (国发〔2016〕51号).")
    share_reply_days_by_region: dict[str, int] = Field(
        default_factory=dict,
        description="Per-jurisdiction reply limits: GB/T 2260 region-code prefix of the providing department -> days.")
    share_compliance_review: bool = Field(default=False, description="Conditional requests pass the operator's "
                                          "compliance review before the provider sees them.")
    share_compliance_days: int = Field(default=2, ge=1, description="Working days for the operator's compliance review.")
    share_reminder_days: int = Field(default=2, ge=0, description="Remind the reviewer this many working days before "
                                     "the deadline.")
    share_calendar_fallback: str = Field(default="weekends", description="For a year the holiday schedule does not "
                                         "know: weekends (count Monday-Friday) or refuse.")
    share_extra_holidays: list[str] = Field(default_factory=list, description="Extra non-working dates (YYYY-MM-DD).")
    share_extra_workdays: list[str] = Field(default_factory=list, description="Extra working dates (调休, YYYY-MM-DD).")
    share_grant_days: int = Field(default=365, ge=1, description="Longest lifetime of a share grant, in days.")
    share_page_max: int = Field(default=10000, ge=1, description="Most rows one share API page may return.")
    share_webhook_retries: int = Field(default=5, ge=0, description="Attempts after the first for a subscription push.")
    opendata_open_within_months: int = Field(
        default=6, ge=1, description="Months after creation within which an openable catalog entry should be opened; "
                                     "later ones are flagged on the operator's page.")
    opendata_rate_per_ip: int = Field(default=600, ge=0,
                                      description="Open-data API calls per minute from one IP address without a key "
                                                  "(0 = unlimited).")
    opendata_rate_per_key: int = Field(default=6000, ge=0,
                                       description="Open-data API calls per minute with one API key (0 = unlimited).")
    opendata_usage_flush_seconds: float = Field(
        default=10.0, ge=0, description="Seconds between writes of the open-data API calls and downloads counted in "
                                        "memory (0 = write after every call).")
    opendata_rows_max: int = Field(default=32000, ge=1,
                                   description="Most records one datastore_search or datastore_search_sql call returns.")
    opendata_count_cap: int = Field(default=100000, ge=1,
                                    description="datastore_search counts matching rows exactly up to this number.")
    opendata_sql_timeout_seconds: float = Field(default=5.0, gt=0,
                                                description="Time limit of one datastore_search_sql query.")
    opendata_serving_keep: int = Field(default=2, ge=1,
                                       description="Open versions per open dataset whose serving index is kept (the "
                                                   "current one and the ones before it); older indexes are removed.")
    opendata_serving_grace_seconds: int = Field(default=600, ge=0,
                                                description="An open version's serving index is removed only this "
                                                            "long after a newer version replaced it, so requests "
                                                            "still reading it finish first.")
    opendata_region_dataset: str = Field(default="", description="Name of the open dataset holding the "
                                         "jurisdiction's GB/T 2260 regions (columns code, name and optionally a "
                                         "GeoJSON geometry): dataset pages name the regions of region-code columns "
                                         "and draw them as a map; empty = bars labelled by code.")
    opendata_review_days: int = Field(default=10, ge=1, description="Working days the providing department has to "
                                      "decide an application for conditional data (上海市公共数据开放暂行办法).")
    opendata_conditional_level: str = Field(default="real_name", description="Real-name level needed to apply for "
                                            "conditional data: phone or real_name.")
    opendata_grant_months: int = Field(default=12, ge=1, description="Longest lifetime of conditional-data access, "
                                       "in months.")
    opendata_agreement_version: str = Field(default="2026-1", description="Version of the 数据利用协议 text applicants "
                                            "accept.")
    oidc_issuer: str = Field(default="", description="Issuer URL of the unified identity provider (统一身份认证); "
                             "empty = that login is off.")
    oidc_client_id: str = Field(default="", description="This portal's client id at the identity provider.")
    oidc_client_secret: str = Field(default="", repr=False, description="This portal's client secret there.")
    oidc_realname_level: str = Field(default="real_name", description="Real-name level given to accounts that log "
                                     "in through the identity provider (it verifies identities itself).")
    realname_url: str = Field(default="", description="HTTP endpoint of the real-name verification service; "
                              "empty = verification is off.")
    master_key: str = Field(
        default="", repr=False,
        description="Master key wrapping every data and signing key: 64 hex digits (32 bytes); "
                    "empty = generated into home/master.key (mode 0600).",
    )

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        if v not in ("zh_CN", "en"):
            raise ValueError("default_locale must be zh_CN or en")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("opendata_conditional_level", "oidc_realname_level")
    @classmethod
    def _known_level(cls, v: str) -> str:
        if v not in ("unverified", "phone", "real_name"):
            raise ValueError("real-name levels are unverified, phone or real_name")
        return v

    @field_validator("master_key")
    @classmethod
    def _master_key_hex(cls, v: str) -> str:
        v = v.strip()
        if v and not re.fullmatch(r"[0-9a-fA-F]{64}", v):
            raise ValueError("master_key must be 64 hex digits (32 bytes)")
        return v

    @property
    def db_url(self) -> str:
        """The metadata database URL, defaulting to a SQLite file in the home folder."""
        return self.database_url or f"sqlite:///{self.home / 'huiju.db'}"

    @property
    def lake_path(self) -> Path:
        """Where Parquet versions live; only local folders are supported so far."""
        if not self.lake_url:
            return self.home / "lake"
        url = self.lake_url.removeprefix("file://")
        return Path(url).expanduser().resolve()

    @property
    def source_root_paths(self) -> list[Path]:
        """Where sources kept by people may read files from: never the platform's own database or keys."""
        import os

        given = [Path(p).expanduser().resolve() for p in self.source_roots.split(os.pathsep) if p.strip()]
        return given or [self.home / "sources"]

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def signing_key(self) -> bytes:
        """The secret used for CSRF tokens; created on first use and kept in the home folder."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.home / "secret.key"
        if not path.exists():
            import secrets

            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
