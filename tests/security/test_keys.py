"""The key hierarchy: master key, wrapped data keys with versions, wrapped SM2 signing keys, re-wrapping."""

from __future__ import annotations

import stat

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from huiju.config import Settings
from huiju.errors import Forbidden, Invalid, NotFound
from huiju.security import keys, service
from huiju.security.crypto import get_provider
from huiju.security.models import AuditEntry, DataKey, SigningKey
from huiju.storage.uow import Storage
from tests.support import run_cli

OTHER_MASTER = bytes(range(32))


# ---- the master key --------------------------------------------------------------------

def test_master_key_file_is_created_once_and_private(tmp_path):
    settings = Settings(home=tmp_path / "home")
    first = keys.master_key(settings)
    path = tmp_path / "home" / "master.key"
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.hex()
    assert keys.master_key(settings) == first
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temporary file left behind


def test_master_key_from_the_setting_wins_and_is_checked(tmp_path):
    settings = Settings(home=tmp_path / "home", master_key=OTHER_MASTER.hex().upper())
    assert keys.master_key(settings) == OTHER_MASTER
    assert not (tmp_path / "home" / "master.key").exists()
    assert "master_key=" not in repr(settings) and OTHER_MASTER.hex() not in repr(settings).lower()
    with pytest.raises(ValidationError):
        Settings(home=tmp_path / "home", master_key="abc")


def test_a_damaged_master_key_file_is_refused(tmp_path):
    settings = Settings(home=tmp_path / "home")
    settings.home.mkdir()
    (settings.home / "master.key").write_text("not hex")
    with pytest.raises(Invalid, match="64 hex digits"):
        keys.master_key(settings)


# ---- data keys -------------------------------------------------------------------------

def test_data_key_is_created_on_first_use_and_stored_wrapped(storage, backend):
    with storage.uow() as uow:
        version, key = keys.data_key(uow, "dataset:population")
        uow.commit()
    assert version == 1 and len(key) == keys.DATA_KEY_BYTES
    with storage.uow() as uow:
        assert keys.data_key(uow, "dataset:population") == (1, key)
        row = uow.session.scalar(select(DataKey))
        events = [e.event_type for e in uow.session.scalars(select(AuditEntry))]
    wrapped = bytes(row.wrapped)
    assert wrapped != key and key not in wrapped
    master = keys.master_key(storage.settings)
    assert keys.unwrap_data_key(master, "dataset:population", 1, wrapped) == key
    with pytest.raises(Invalid, match="master key cannot unwrap"):
        keys.unwrap_data_key(OTHER_MASTER, "dataset:population", 1, wrapped)
    with pytest.raises(Invalid):  # the wrapped key is bound to its purpose and version
        keys.unwrap_data_key(master, "dataset:people", 1, wrapped)
    with pytest.raises(Invalid):
        keys.unwrap_data_key(master, "dataset:population", 2, wrapped)
    assert events == ["DataKeyCreated"]


def test_keys_of_different_purposes_differ(storage, backend):
    with storage.uow() as uow:
        _, a = keys.data_key(uow, "dataset:population")
        _, b = keys.data_key(uow, "dataset:enterprises")
        uow.commit()
    assert a != b


@pytest.mark.parametrize("purpose", ["", "has space", "a|b", "x" * 101, keys.AUDIT_SIGNING])
def test_bad_purposes_are_refused(storage, purpose):
    with storage.uow() as uow, pytest.raises(Invalid):
        keys.data_key(uow, purpose)


def test_rotation_keeps_old_versions_readable(storage, system, backend):
    provider = get_provider()
    with storage.uow() as uow:
        _, old_key = keys.data_key(uow, "dataset:population")
        uow.commit()
    secret = provider.sm4_gcm_encrypt(old_key, "110101199003071234".encode())
    with storage.uow() as uow:
        row = service.rotate_data_key(uow, system, "dataset:population")
    assert row.version == 2
    with storage.uow() as uow:
        version, new_key = keys.data_key(uow, "dataset:population")
        assert version == 2 and new_key != old_key
        assert keys.data_key_version(uow, "dataset:population", 1) == old_key
        assert provider.sm4_gcm_decrypt(keys.data_key_version(uow, "dataset:population", 1), secret) == \
            "110101199003071234".encode()
        rows = {r.version: r for r in uow.session.scalars(select(DataKey))}
        assert rows[1].retired_at is not None and rows[2].retired_at is None
        service.rotate_data_key(uow, system, "dataset:population")
    with storage.uow() as uow:
        assert keys.data_key(uow, "dataset:population")[0] == 3
        assert keys.data_key_version(uow, "dataset:population", 2) == new_key
        entries = [e for e in uow.session.scalars(select(AuditEntry).where(AuditEntry.event_type == "DataKeyRotated"))]
        assert len(entries) == 2 and '"retired_versions":[2]' in entries[1].payload
        with pytest.raises(NotFound):
            keys.data_key_version(uow, "dataset:population", 9)


def test_rotating_a_key_that_never_existed_is_an_error(storage, system):
    with storage.uow() as uow, pytest.raises(NotFound):
        service.rotate_data_key(uow, system, "dataset:typo")


def test_only_operators_manage_keys(storage, people):
    for name in ("ga_steward", "ga_user", "citizen"):
        with storage.uow() as uow:
            with pytest.raises(Forbidden):
                service.list_keys(uow, people[name])
            with pytest.raises(Forbidden):
                service.rotate_data_key(uow, people[name], "dataset:population")
            with pytest.raises(Forbidden):
                service.rewrap_all(uow, people[name], OTHER_MASTER)
    with storage.uow() as uow:
        assert service.list_keys(uow, people["op"]) == []


# ---- signing keys ----------------------------------------------------------------------

def test_signing_key_private_half_is_wrapped(storage, backend):
    with storage.uow() as uow:
        row, private = keys.signing_key(uow)
        uow.commit()
    wrapped = bytes(row.wrapped_private)
    assert bytes.fromhex(private) not in wrapped and private.encode() not in wrapped
    master = keys.master_key(storage.settings)
    assert keys.unwrap_private_key(master, row.purpose, row.public_key_hex, wrapped) == private
    with pytest.raises(Invalid):
        keys.unwrap_private_key(OTHER_MASTER, row.purpose, row.public_key_hex, wrapped)
    signature = get_provider().sm2_sign(private, b"hello")
    assert get_provider().sm2_verify(row.public_key_hex, b"hello", signature)
    with storage.uow() as uow:
        again, _ = keys.signing_key(uow)
        assert again.id == row.id
        assert keys.trusted_public_keys(uow) == {row.public_key_hex}


def test_a_signing_key_row_without_the_master_key_is_not_trusted(storage, backend):
    private, public = get_provider().sm2_generate_keypair()
    with storage.uow() as uow:
        genuine, _ = keys.signing_key(uow)
        forged = keys.wrap_private_key(OTHER_MASTER, keys.AUDIT_SIGNING, public, private)
        uow.add(SigningKey(purpose=keys.AUDIT_SIGNING, public_key_hex=public, wrapped_private=forged))
        uow.commit()
    with storage.uow() as uow:
        assert keys.trusted_public_keys(uow) == {genuine.public_key_hex}


def test_signing_key_rotation(storage, system, backend):
    with storage.uow() as uow:
        with pytest.raises(NotFound):
            service.rotate_signing_key(uow, system)
    with storage.uow() as uow:
        first, _ = keys.signing_key(uow)
        uow.commit()
    with storage.uow() as uow:
        second = service.rotate_signing_key(uow, system)
    assert second.public_key_hex != first.public_key_hex
    with storage.uow() as uow:
        current, _ = keys.signing_key(uow)
        assert current.id == second.id
        assert keys.trusted_public_keys(uow) == {first.public_key_hex, second.public_key_hex}
        infos = service.list_keys(uow, system)
    assert [(k.kind, k.version, k.retired_at is None) for k in infos] == [("signing", 1, False), ("signing", 2, True)]
    assert infos[1].fingerprint == keys.fingerprint(second.public_key_hex)


# ---- a new master key ------------------------------------------------------------------

def test_rewrap_all_moves_every_key_to_a_new_master_file(storage, system, backend):
    with storage.uow() as uow:
        _, data = keys.data_key(uow, "dataset:population")
        signer, private = keys.signing_key(uow)
        uow.commit()
    old_master = keys.master_key(storage.settings)
    with storage.uow() as uow:
        result = service.rewrap_all(uow, system, OTHER_MASTER)
    assert (result.data_keys, result.signing_keys) == (1, 1)
    assert result.master_file == storage.settings.home / "master.key"
    assert keys.master_key(storage.settings) == OTHER_MASTER
    assert stat.S_IMODE(result.master_file.stat().st_mode) == 0o600
    assert not (storage.settings.home / "master.key.new").exists()
    with storage.uow() as uow:
        assert keys.data_key(uow, "dataset:population") == (1, data)
        assert keys.signing_key(uow)[1] == private
        row = uow.session.scalar(select(DataKey))
        with pytest.raises(Invalid):
            keys.unwrap_data_key(old_master, row.purpose, row.version, row.wrapped)
        assert "MasterKeyRewrapped" in {e.event_type for e in uow.session.scalars(select(AuditEntry))}


def test_rewrap_all_with_the_master_key_in_the_environment(storage, system, backend):
    settings = storage.settings.model_copy(update={"master_key": "ab" * 32})
    st = Storage.open(settings)
    try:
        with st.uow() as uow:
            _, data = keys.data_key(uow, "dataset:population")
            uow.commit()
        with st.uow() as uow:
            result = service.rewrap_all(uow, system, OTHER_MASTER)
        assert result.master_file is None
        assert not (settings.home / "master.key").exists()
        with st.uow() as uow, pytest.raises(Invalid, match="master key cannot unwrap"):
            keys.data_key(uow, "dataset:population")  # the environment still holds the old key
    finally:
        st.close()
    moved = Storage.open(settings.model_copy(update={"master_key": OTHER_MASTER.hex()}))
    try:
        with moved.uow() as uow:
            assert keys.data_key(uow, "dataset:population") == (1, data)
    finally:
        moved.close()


def test_rewrap_refuses_a_wrong_current_master_and_changes_nothing(storage, system, backend):
    with storage.uow() as uow:
        keys.data_key(uow, "dataset:population")
        uow.commit()
    (storage.settings.home / "master.key").write_text("cd" * 32)
    with storage.uow() as uow, pytest.raises(Invalid, match="master key cannot unwrap"):
        service.rewrap_all(uow, system, OTHER_MASTER)
    assert keys.master_key(storage.settings) == bytes.fromhex("cd" * 32)
    assert not (storage.settings.home / "master.key.new").exists()
    with storage.uow() as uow:
        with pytest.raises(Invalid):
            service.rewrap_all(uow, system, b"short")
        assert uow.session.scalar(select(AuditEntry.id).where(AuditEntry.event_type == "MasterKeyRewrapped")) is None


# ---- CLI -------------------------------------------------------------------------------

run = run_cli


def test_keys_cli(tmp_path):
    home = tmp_path / "home"
    run(home, "init")
    assert "用途 dataset:nothing 尚无数据密钥" in run(home, "keys", "rotate", "dataset:nothing", ok=False).stdout
    run(home, "audit", "checkpoint")  # creates the audit-signing key
    listing = run(home, "keys", "list").stdout
    assert "签名密钥" in listing and "audit-signing" in listing
    rotated = run(home, "keys", "rotate", "audit-signing").stdout
    assert "签名密钥 audit-signing 已更换" in rotated
    old_master = (home / "master.key").read_text()
    assert "已在新主密钥下重新封装 0 个数据密钥和 2 个签名密钥" in run(home, "keys", "rewrap").stdout
    assert (home / "master.key").read_text() != old_master
    assert "审计链完整" in run(home, "audit", "verify").stdout
    refused = run(home, "keys", "rewrap", ok=False, HUIJU_MASTER_KEY="ef" * 32)
    assert refused.returncode == 1 and "--new-master-file" in refused.stdout
