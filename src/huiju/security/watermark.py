"""Per-recipient watermarks: an invisible marker appended to one text field of every row read for a recipient.

The marker is ``U+2060 · 32 × (U+200B for 0 | U+200C for 1) · U+2060``: the 32 bits are the recipient's
code, the first 4 bytes of HMAC-SM3(platform watermark key, recipient id). The characters are zero-width,
so the text looks unchanged on screen, in spreadsheets and in CSV; a leaked file that still holds one
marked value names its recipient: ``find_codes`` extracts the codes, and the audit chain's ``DataRead``
events map a code back to the recipient, grant and read (what ``huiju trace`` in the share context does).

Limits, stated plainly: anyone who knows the scheme can strip zero-width characters (a normalising
tool or a retype does); it deters and traces careless or casual leaks, not a determined adversary.
Values that are NULL carry no marker.
"""

from __future__ import annotations

import re

from huiju.errors import Invalid
from huiju.security.crypto import get_provider

WATERMARK_PURPOSE = "watermark"
CODE_BITS = 32
_FRAME, _ZERO, _ONE = "\u2060", "\u200b", "\u200c"
_MARKER = re.compile(f"{_FRAME}([{_ZERO}{_ONE}]{{{CODE_BITS}}}){_FRAME}")


def recipient_code(key: bytes, recipient: str) -> str:
    """The 8-hex-digit code of a recipient id under the platform's watermark key."""
    if not recipient.strip():
        raise Invalid("A watermark needs a recipient")
    return get_provider().hmac_sm3(key, recipient.strip().encode())[: CODE_BITS // 8].hex()


def marker(code: str) -> str:
    """The invisible marker carrying ``code``."""
    bits = f"{int(code, 16):0{CODE_BITS}b}"
    return _FRAME + "".join(_ONE if b == "1" else _ZERO for b in bits) + _FRAME


def find_codes(text: str) -> list[str]:
    """Every recipient code found in ``text`` (a leaked file's content), most frequent first."""
    counts: dict[str, int] = {}
    for bits in _MARKER.findall(text):
        code = f"{int(bits.replace(_ZERO, '0').replace(_ONE, '1'), 2):08x}"
        counts[code] = counts.get(code, 0) + 1
    return sorted(counts, key=lambda c: -counts[c])


def strip(text: str) -> str:
    """``text`` without markers (to compare a marked value with its original)."""
    return _MARKER.sub("", text)
