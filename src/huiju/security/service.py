"""Security use cases: the audit chain (verify, checkpoint, export) and the key hierarchy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from huiju.auth.authz import require
from huiju.auth.roles import Actor
from huiju.errors import Invalid
from huiju.security import keys
from huiju.security.audit import (
    CHECKPOINT_INFO_KEY,
    AuditCheckpointRequested,
    AuditExported,
    ChainReport,
    ExportSummary,
    verify_chain,
    write_export,
)
from huiju.security.models import AuditCheckpoint, AuditEntry, DataKey, SigningKey
from huiju.security.permissions import (
    AUDIT_CHECKPOINT,
    AUDIT_EXPORT,
    AUDIT_VERIFY,
    AUDIT_VIEW,
    KEYS_ROTATE,
    KEYS_VIEW,
)
from huiju.storage.uow import UnitOfWork


def verify_audit(uow: UnitOfWork, actor: Actor) -> ChainReport:
    """Check every link of the chain and every signed checkpoint; the report names the first broken one.

    Only keys whose private half unwraps under the master key are trusted to have signed.
    """
    require(actor, AUDIT_VERIFY)
    return verify_chain(uow.session, trusted_keys=keys.trusted_public_keys(uow))


def list_audit(uow: UnitOfWork, actor: Actor, *, limit: int = 50, before_seq: int | None = None) -> list[AuditEntry]:
    """Newest entries first, keyset-paginated by sequence number."""
    require(actor, AUDIT_VIEW)
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(min(limit, 500))
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    return list(uow.session.scalars(query))


def create_checkpoint(uow: UnitOfWork, actor: Actor) -> AuditCheckpoint:
    """Sign the chain head now (besides the automatic checkpoint every ``audit_checkpoint_every`` events).

    The request is itself an audit entry, and the checkpoint covers it: one transaction.
    """
    require(actor, AUDIT_CHECKPOINT)
    uow.session.info.pop(CHECKPOINT_INFO_KEY, None)
    uow.emit(actor, AuditCheckpointRequested())
    uow.commit()
    return uow.session.info.pop(CHECKPOINT_INFO_KEY)


def export_audit(uow: UnitOfWork, actor: Actor, path: str | Path) -> ExportSummary:
    """Write the whole chain, its checkpoints and public keys to ``path`` for an external auditor.

    The export is recorded in the chain first, with a checkpoint at the new head, so the file
    ends with a signature over everything in it; ``verify_export`` checks it without the platform.
    """
    require(actor, AUDIT_EXPORT)
    path = Path(path).expanduser().absolute()
    if not path.parent.is_dir():
        raise Invalid("Folder %(folder)s does not exist", folder=str(path.parent))
    if path.is_dir():
        raise Invalid("%(path)s is a folder; give a file name", path=str(path))
    uow.emit(actor, AuditExported(path=str(path)))
    uow.commit()
    return write_export(uow.session, path, keys.public_key_records(uow))


# ---- keys ----------------------------------------------------------------------------------

def list_keys(uow: UnitOfWork, actor: Actor) -> list[keys.KeyInfo]:
    """Every data and signing key version, without key material."""
    require(actor, KEYS_VIEW)
    return keys.key_infos(uow)


def rotate_data_key(uow: UnitOfWork, actor: Actor, purpose: str) -> DataKey:
    """Start a new version of the data key for ``purpose``; old versions are retired but stay readable.

    What was encrypted under an old version is re-encrypted by the job that owns it (encrypted
    lake columns, when they exist); nothing is encrypted under data keys yet, so nothing else
    changes here.
    """
    require(actor, KEYS_ROTATE)
    row, retired = keys.rotate_data_key_rows(uow, purpose)
    uow.emit(actor, keys.DataKeyRotated(purpose=row.purpose, version=row.version, retired_versions=retired))
    uow.commit()
    return row


def rotate_signing_key(uow: UnitOfWork, actor: Actor, purpose: str = keys.AUDIT_SIGNING) -> SigningKey:
    """Replace the SM2 key pair of ``purpose``; checkpoints signed by the old key still verify."""
    require(actor, KEYS_ROTATE)
    row, retired = keys.rotate_signing_key_rows(uow, purpose)
    uow.emit(actor, keys.SigningKeyRotated(purpose=row.purpose, fingerprint=keys.fingerprint(row.public_key_hex),
                                           retired_fingerprints=[keys.fingerprint(r.public_key_hex) for r in retired]))
    uow.commit()
    return row


@dataclass
class RewrapResult:
    data_keys: int
    signing_keys: int
    master_file: Path | None  # the replaced home/master.key, or None when the key comes from HUIJU_MASTER_KEY


def rewrap_all(uow: UnitOfWork, actor: Actor, new_master: bytes) -> RewrapResult:
    """Move to a new master key: re-wrap every data and signing key under it, in one transaction.

    With home/master.key the file is replaced too: the new key is written to master.key.new
    before the commit and renamed over master.key after it (if the process dies in between,
    master.key.new holds the key the database now needs). With ``HUIJU_MASTER_KEY`` the operator
    sets the new value before the platform next starts.
    """
    require(actor, KEYS_ROTATE)
    data_count, signing_count = keys.rewrap_rows(uow, new_master)
    staged = None if uow.settings.master_key else keys.stage_master_file(uow.settings, new_master)
    uow.emit(actor, keys.MasterKeyRewrapped(data_keys=data_count, signing_keys=signing_count))
    try:
        uow.commit()
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    if staged is None:
        return RewrapResult(data_count, signing_count, None)
    keys.install_master_file(uow.settings, staged)
    return RewrapResult(data_count, signing_count, keys.master_key_path(uow.settings))
