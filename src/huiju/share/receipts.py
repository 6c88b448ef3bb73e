"""Exchange receipts (交换存证): the platform's SM2 signature over (request hash, response hash, time).

A receipt proves which request produced which response and when, and can be checked offline by anyone
holding the platform's public key (``huiju share public-key``): ``huiju share verify-receipt``. The request
hash is SM3 over the canonical JSON of who asked for what (grant, client department, user, purpose, method,
path, query); the response hash is SM3 over the exact bytes of the body delivered.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from typing import Any

from huiju.errors import Invalid
from huiju.security.crypto import get_provider, sm3_hex  # noqa: F401  (sm3_hex is part of the receipt API)

VERSION = "huiju-receipt-v1"
HEADER = "X-Huiju-Receipt"


def request_hash(description: dict[str, Any]) -> str:
    """SM3 of the canonical JSON of a request's description."""
    canonical = json.dumps(description, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sm3_hex(canonical.encode())


def signed_message(req_hash: str, resp_hash: str, time: str) -> bytes:
    return f"{VERSION}|{req_hash}|{resp_hash}|{time}".encode()


@dataclass(frozen=True)
class Receipt:
    call_id: int
    grant_id: int
    request_hash: str
    response_hash: str
    time: str  # ISO 8601, UTC
    signature: str  # hex DER SM2 signature over signed_message(...)
    key: str  # fingerprint of the signing public key
    v: str = VERSION

    def header(self) -> str:
        """The receipt as one header value (base64 of its JSON)."""
        return base64.b64encode(json.dumps(asdict(self), sort_keys=True).encode()).decode()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, text: str) -> Receipt:
        """From JSON or from the base64 header value."""
        text = text.strip()
        try:
            data = json.loads(text if text.startswith("{") else base64.b64decode(text))
            return cls(**{k: data[k] for k in ("call_id", "grant_id", "request_hash", "response_hash", "time",
                                               "signature", "key")}, v=data.get("v", VERSION))
        except (ValueError, KeyError, TypeError):
            raise Invalid("This is not a huiju exchange receipt") from None


def sign(private_key_hex: str, fingerprint: str, *, call_id: int, grant_id: int, req_hash: str, body: bytes,
         time: str) -> Receipt:
    resp_hash = sm3_hex(body)
    signature = get_provider().sm2_sign(private_key_hex, signed_message(req_hash, resp_hash, time)).hex()
    return Receipt(call_id, grant_id, req_hash, resp_hash, time, signature, fingerprint)


def verify(receipt: Receipt, body: bytes | None, public_key_hex: str) -> list[str]:
    """Problems found (empty when the receipt is genuine and, if given, matches the body)."""
    problems = []
    if receipt.v != VERSION:
        problems.append(f"unknown receipt version {receipt.v}")
    if body is not None and sm3_hex(body) != receipt.response_hash:
        problems.append("the body's SM3 hash differs from the receipt's response hash")
    try:
        ok = get_provider().sm2_verify(public_key_hex, signed_message(receipt.request_hash, receipt.response_hash,
                                                                      receipt.time), bytes.fromhex(receipt.signature))
    except ValueError:
        ok = False
    if not ok:
        problems.append("the SM2 signature does not verify with this public key")
    return problems
