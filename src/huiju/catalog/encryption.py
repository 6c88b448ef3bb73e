"""Sensitive columns are stored encrypted: a hook on every staged version installs the column encryptor.

One place for every writer (ingest, resubmission, base libraries, key rotation): when a version of a
dataset is staged, each column whose label marks sensitive personal information (proposed or confirmed)
is written SM4-encrypted under the dataset's data key with its HMAC-SM3 lookup token beside it
(security.lake_crypto). A label changed later takes effect with the next version; ``reencrypt_current``
(catalog.protection.service) writes one at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from huiju.catalog.models import Dataset
from huiju.security import keys, lake_crypto
from huiju.storage.lake import StagedVersion
from huiju.storage.uow import UnitOfWork, on_stage


def sensitive_columns(labels: dict[str, Any] | None) -> list[str]:
    """Columns whose label (proposed or confirmed) says sensitive personal information."""
    return sorted(c for c, label in (labels or {}).items() if isinstance(label, dict) and label.get("sensitive_pi"))


@on_stage
def install_encryption(uow: UnitOfWork, staged: StagedVersion) -> None:
    ds = uow.session.scalar(select(Dataset).where(Dataset.key == staged.dataset_key))
    if ds is None:
        return
    columns = sensitive_columns(ds.labels)
    if not columns:
        return
    purpose = lake_crypto.dataset_key_purpose(ds.key)
    version, key = keys.data_key(uow, purpose)
    token_version, token_key = keys.data_key(uow, lake_crypto.TOKEN_PURPOSE)
    staged.transform = lake_crypto.Encryptor(columns, purpose, version, key, token_version, token_key)
