"""Find a text file's encoding and decode it as a stream, strictly, so mis-decoded text is never stored.

Detection looks at a sample (the first MiB): a byte-order mark decides; otherwise strict UTF-8, then
GBK, then GB18030 (the superset: a GB18030-only character such as 䶮 makes it "gb18030"). A declared
encoding is checked too: GBK/GB18030 declared over text that is valid UTF-8 (with non-ASCII) is refused,
because UTF-8 Chinese often decodes as GBK without error into mojibake.

GBK is decoded with the GB18030 codec: Python's GBK table is a strict subset of it with identical
mappings (checked over every 2-byte sequence), so a "GBK" file holding a GB18030-only character still
reads correctly. Decoding never uses errors="replace": the first bad byte stops the read with its offset.
"""

from __future__ import annotations

import codecs
import io
from collections import deque
from collections.abc import Callable
from typing import Any, BinaryIO

from huiju.errors import Invalid
from huiju.i18n import N_
from huiju.ingest.connectors.base import Notice

SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
        (b"\x84\x31\x95\x33", "gb18030"))
# declared name (after codecs.lookup) -> the name we report; the codec used to decode is DECODE_AS[name]
SUPPORTED = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gbk", "gb2312": "gbk", "cp936": "gbk",
             "gb18030": "gb18030", "utf-16": "utf-16", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be",
             "big5": "big5"}
DECODE_AS = {"utf-8-sig": "utf-8", "gbk": "gb18030"}
MOJIBAKE = N_("The text holds %(count)s replacement characters (U+FFFD): it was mis-decoded before it reached "
              "the platform")
ASCII_TRANSPARENT = frozenset({"utf-8", "gb18030", "big5"})  # no byte of a multi-byte character is below 0x40
BAD_DECLARED = N_("The file is not valid %(encoding)s text (first bad byte at offset %(offset)s)")
BAD_DETECTED = N_("The file is not valid %(encoding)s text (first bad byte at offset %(offset)s); the encoding "
                  "was detected from the start of the file, set the source's encoding if it is another one")


def normalise(declared: str) -> str:
    """The supported name for a declared encoding ("GBK", "cp936", "UTF8"...), or a clear refusal."""
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        name = ""
    if name not in SUPPORTED:
        raise Invalid("Unsupported text encoding %(encoding)s (supported: UTF-8, GBK, GB18030, UTF-16, Big5)",
                      encoding=declared)
    return SUPPORTED[name]


def _bad_offset(data: bytes, codec: str, final: bool) -> int | None:
    try:
        codecs.getincrementaldecoder(codec)("strict").decode(data, final)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def detect(sample: bytes, *, complete: bool) -> str:
    """Name the encoding of a sample (``complete`` when it is the whole file, so a cut character is an error)."""
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name
    if _bad_offset(sample, "utf-8", complete) is None:
        return "utf-8"
    if _bad_offset(sample, "gbk", complete) is None:
        return "gbk"
    offset = _bad_offset(sample, "gb18030", complete)
    if offset is None:
        return "gb18030"
    raise Invalid("The text encoding was not recognised: the file is neither UTF-8 nor GBK/GB18030 "
                  "(first undecodable byte at offset %(offset)s)", offset=offset)


def check_declared(sample: bytes, declared: str, *, complete: bool) -> str:
    """Accept a declared encoding unless the sample plainly says otherwise (UTF-8 declared as GBK)."""
    name = normalise(declared)
    plainly_utf8 = not sample.isascii() and _bad_offset(sample, "utf-8", complete) is None
    if name in ("gbk", "gb18030", "big5") and plainly_utf8:
        raise Invalid("The file is declared as %(declared)s but its text is UTF-8; correct the source's "
                          "encoding setting", declared=declared)
    return name


class DecodedReader(io.RawIOBase):
    """A file-like object over a text source that yields UTF-8 bytes, decoded incrementally and strictly.

    Only ``chunk_bytes`` of the source are decoded at a time; a character split across two chunks is
    completed by the incremental decoder. With ``transcode=False`` the source bytes (minus a BOM) are
    handed on as they are, for a consumer that decodes them itself (pyarrow's CSV reader, natively
    for UTF-8); it calls :meth:`bad_byte_error` when that fails, to name the offset. UTF-16 is always
    transcoded, since its bytes are not ASCII-transparent the way UTF-8, GB18030 and Big5 are.
    """

    def __init__(self, raw: BinaryIO, encoding: str, *, detected: bool = False, chunk_bytes: int = CHUNK_BYTES,
                 observer: Callable[[bytes], None] | None = None, transcode: bool = True) -> None:
        super().__init__()
        self.encoding = encoding
        self.codec = DECODE_AS.get(encoding, encoding)
        self.transcode = transcode or self.codec not in ASCII_TRANSPARENT
        self.output_encoding = "utf-8" if self.transcode else self.codec
        self.replacements = 0
        self._raw, self._detected, self._chunk, self._observer = raw, detected, chunk_bytes, observer
        self._decoder = codecs.getincrementaldecoder(self.codec)("strict")
        self._replacement = "\ufffd".encode(self.output_encoding)
        self._bom = {"utf-8": codecs.BOM_UTF8, "gb18030": BOMS[3][0]}.get(self.codec, b"")
        self._fed = 0
        self._parts: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def _error(self, offset: int) -> Invalid:
        return Invalid(BAD_DETECTED if self._detected else BAD_DECLARED, encoding=self.encoding, offset=offset)

    def _fill(self) -> None:
        chunk = self._raw.read(self._chunk)
        if self._fed == 0 and self._bom and chunk.startswith(self._bom):
            self._fed = len(self._bom)
            chunk = chunk[len(self._bom):]
        self._eof = not chunk
        out = chunk
        if self.transcode:
            pending = len(self._decoder.getstate()[0])
            try:
                text = self._decoder.decode(chunk, self._eof)
            except UnicodeDecodeError as exc:
                raise self._error(self._fed - pending + exc.start) from None
            out = chunk if self.codec == "utf-8" else text.encode("utf-8")
        self._fed += len(chunk)
        if out:
            self.replacements += out.count(self._replacement)
            if self._observer:
                self._observer(out)
            self._parts.append(out)
            self._buffered += len(out)

    def peek(self, size: int) -> bytes:
        """The next ``size`` UTF-8 bytes (fewer at the end) without consuming them."""
        while self._buffered < size and not self._eof:
            self._fill()
        return b"".join(self._parts)[:size]

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 62
        while self._buffered < size and not self._eof:
            self._fill()
        if self._parts and len(self._parts[0]) == size:
            out = self._parts.popleft()
        else:
            data = b"".join(self._parts)
            out, rest = data[:size], data[size:]
            self._parts.clear()
            if rest:
                self._parts.append(rest)
        self._buffered -= len(out)
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def bad_byte_error(self) -> Invalid | None:
        """Re-read the source from the start to name the first byte that is not valid text, if there is one."""
        self._raw.seek(0)
        clone = DecodedReader(self._raw, self.encoding, detected=self._detected, chunk_bytes=CHUNK_BYTES)
        try:
            while not clone._eof:
                clone._fill()
                clone._parts.clear()
        except Invalid as exc:
            return exc
        return None

    def mojibake_notice(self) -> Notice | None:
        """A notice when the decoded text looks mis-decoded upstream (replacement characters in it)."""
        return Notice(MOJIBAKE, {"count": self.replacements}) if self.replacements else None


def open_text(raw: BinaryIO, declared: str | None, *, chunk_bytes: int = CHUNK_BYTES,
              observer: Callable[[bytes], None] | None = None, transcode: bool = True) -> DecodedReader:
    """Detect (or check the declared) encoding from a sample, rewind, and return the decoding reader."""
    sample = raw.read(SAMPLE_BYTES)
    complete = len(sample) < SAMPLE_BYTES
    raw.seek(0)
    if declared:
        name = check_declared(sample, declared, complete=complete)
    else:
        name = detect(sample, complete=complete)
    return DecodedReader(raw, name, detected=not declared, chunk_bytes=chunk_bytes, observer=observer,
                         transcode=transcode)
