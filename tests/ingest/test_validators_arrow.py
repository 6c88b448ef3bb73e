"""The vectorised check-digit validators give exactly the Python validators' verdicts (and their SQL twins')."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiju.ingest.standardize import sql_region_code_valid
from huiju.ingest.validators import (
    EARLY_PILOT_USCC,
    ID_CHECK,
    PROVINCE_PREFIXES,
    USCC_CHARS,
    USCC_KINDS,
    check_bank_card,
    check_citizen_id,
    check_mobile,
    check_region_code,
    check_uscc,
    gb11643_check_char,
    gb32100_check_char,
    luhn_ok,
    normalize_identifier,
)
from huiju.ingest.validators_arrow import (
    bank_card_valid,
    citizen_id_valid,
    mobile_valid,
    region_code_valid,
    uscc_valid,
)
from huiju.ingest.validators_sql import (
    sql_bank_card_valid,
    sql_citizen_id_valid,
    sql_mobile_valid,
    sql_uscc_valid,
)

TODAY = date(2024, 6, 1)
KNOWN = ["110105", "990100", "990102", "441900"]
# name -> (Python reference, vectorised twin, SQL twin)
TWINS: dict[str, tuple[Callable[[str], bool], Callable[..., pa.Array], Callable[..., str]]] = {
    "uscc": (lambda v: check_uscc(v).ok, uscc_valid, sql_uscc_valid),
    "citizen_id": (lambda v: check_citizen_id(v, today=TODAY).ok, partial(citizen_id_valid, today=TODAY),
                   partial(sql_citizen_id_valid, today=TODAY)),
    "region": (lambda v: check_region_code(v).ok, region_code_valid, sql_region_code_valid),
    "region_known": (lambda v: check_region_code(v, KNOWN).ok, partial(region_code_valid, known=KNOWN),
                     partial(sql_region_code_valid, known=KNOWN)),
    "mobile": (lambda v: check_mobile(v).ok, mobile_valid, sql_mobile_valid),
    "bank_card": (lambda v: check_bank_card(v).ok, bank_card_valid, sql_bank_card_valid),
}
EDGES = [
    "91340600MA2PBP2120",  # Σ ≡ 0 (mod 31): check character '0' (cn-standards.md §4)
    "91340600ma2pbp2120", "９１３４０６００ＭＡ２ＰＢＰ２１２０", "\u3000 91340600MA2PBP2120 \t",
    "91350100M0001TGQXM", "91350100m0001tgqxm", "91110000600037341N", "A1110000600037341L", "9111000060003IOZSV",
    "11010519491231002X", "11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002Ｘ",
    "110105491231002", "990426199112010074", "36042619910102009X", "360426199113010079",
    "11010500000101" + "0000", "11010520000229" + "0000", "11010519000229" + "0000", "110105000229002",
    "110105", "990102", "９９０１０２", "990100", "990001", "999000", "999099", "000000", "12345", "1234567",
    "", " ", "X", "中", "91340600MA2PBP212", "91340600MA2PBP21200", "91340600MA2PBP212中",
    "13912345678", "+86 13912345678", "86-13912345678", "+8613912345678", "１３９１２３４５６７８", "12912345678",
    "1391234567", "139123456789", "+86  13912345678", " 13912345678\n",
    "6228480402564890018", "6228 4804 0256 4890 018", "6228480402564890017", "4111111111111111",
    "4111 1111 1111 1111", "４１１１１１１１１１１１１１１１", "411111111111111", "41111111111111111111", "6228480402564890018x",
]


def _with_check(body: str) -> list[str]:
    out = [body + gb11643_check_char(body)]
    return out + [body[:6] + body[8:]] if body[6:8] == "19" else out  # and the 15-digit form


def _dated_ids() -> list[str]:
    """Birth dates at the edges: today and tomorrow, 29 February of leap and common years, year 0000."""
    days = [TODAY, TODAY + timedelta(days=1), date(2000, 2, 29), date(1996, 2, 29), date(1, 1, 1)]
    texts = [d.strftime("%Y%m%d").zfill(8) for d in days] + ["19000229", "20230229", "00000101", "19991301", "19990100"]
    return [v for t in texts for v in _with_check(f"110105{t}002")]


def _answers(fn: Callable[..., pa.Array], values: list[str | None], **kw: object) -> list[bool | None]:
    return fn(pa.array(values, pa.string()), **kw).to_pylist()


def _sql(sql_fn: Callable[..., str], values: list[str | None]) -> list[bool | None]:
    con = duckdb.connect()
    con.register("t", pa.table({"v": pa.array(values, pa.string()), "i": pa.array(range(len(values)))}))
    return [r[0] for r in con.execute(f"SELECT {sql_fn('v')} FROM t ORDER BY i").fetchall()]


def _agree(name: str, values: list[str | None]) -> None:
    python, vector, sql = TWINS[name]
    expected = [None if v is None else python(v) for v in values]
    assert _answers(vector, values) == expected
    assert _answers(vector, values, trimmed=False) == expected
    normalised = [None if v is None else normalize_identifier(v) for v in values]
    assert _answers(vector, normalised, standardized=True) == expected
    assert _sql(sql, values) == expected  # the SQL twin, as a cross-check of the reference


@pytest.mark.parametrize("name", TWINS)
def test_edge_vectors_agree_with_the_reference(name: str) -> None:
    values = [*EDGES, *_dated_ids(), None, *sorted(EARLY_PILOT_USCC)]
    _agree(name, values)
    python = TWINS[name][0]
    assert any(python(v) for v in values) and not all(python(v) for v in values)  # the vectors test both ways


def test_sliced_and_chunked_columns() -> None:
    """A column that is a slice of a larger buffer (Arrow offsets not starting at 0) or a chunked array."""
    values = ["x", "91340600MA2PBP2120", None, "91340600MA2PBP2121", "11010519491231002X"]
    arr = pa.array(values, pa.string())
    assert uscc_valid(arr.slice(1)).to_pylist() == [True, None, False, False]
    chunked = pa.chunked_array([arr.slice(0, 2), arr.slice(2)])
    assert uscc_valid(chunked).to_pylist() == [False, True, None, False, False]
    assert citizen_id_valid(pa.array([None, None], pa.string()), today=TODAY).to_pylist() == [None, None]
    assert region_code_valid(pa.array([], pa.string())).to_pylist() == []


def _fullwidth(c: str) -> str:
    return chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c


@st.composite
def _mangled(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A code with some characters lowercased or made full-width, spaces around, or a character changed."""
    chars = list(draw(base))
    for i in range(len(chars)):
        how = draw(st.sampled_from(["keep"] * 6 + ["lower", "full", "other"]))
        if how == "lower":
            chars[i] = chars[i].lower()
        elif how == "full":
            chars[i] = _fullwidth(chars[i])
        elif how == "other" and draw(st.booleans()):
            chars[i] = draw(st.sampled_from("0123456789XxIOZSV中 -"))
    pad = draw(st.sampled_from(["", " ", "\u3000", "\t"]))
    return pad + "".join(chars) + pad


@st.composite
def _usccs(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(sorted(USCC_KINDS)) | st.sampled_from(USCC_CHARS))
    body = head + draw(st.text(USCC_CHARS, min_size=16, max_size=16))
    return body + (gb32100_check_char(body) if draw(st.booleans()) else draw(st.sampled_from(USCC_CHARS)))


@st.composite
def _citizen_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_PREFIXES)) | st.text("0123456789", min_size=2, max_size=2))
    birth = draw(st.dates(min_value=date(1850, 1, 1), max_value=date(2030, 12, 31))).strftime("%Y%m%d")
    body = province + draw(st.text("0123456789", min_size=4, max_size=4)) + birth + draw(
        st.text("0123456789", min_size=3, max_size=3))
    if draw(st.booleans()) and birth.startswith("19"):
        return body[:6] + body[8:]  # the 1989 15-digit form
    return body + (gb11643_check_char(body) if draw(st.booleans()) else draw(st.sampled_from(ID_CHECK)))


_regions = st.sampled_from(sorted(PROVINCE_PREFIXES)) | st.text("0123456789", min_size=2, max_size=2)


@settings(max_examples=60, deadline=None)
@given(st.lists(_mangled(_usccs()) | st.text(max_size=20), min_size=1, max_size=50))
def test_random_usccs_agree(values: list[str]) -> None:
    _agree("uscc", values)


@settings(max_examples=60, deadline=None)
@given(st.lists(_mangled(_citizen_ids()) | st.text("0123456789Xx１ ", max_size=19), min_size=1, max_size=50))
def test_random_citizen_ids_agree(values: list[str]) -> None:
    _agree("citizen_id", values)


@settings(max_examples=60, deadline=None)
@given(st.lists(_mangled(st.tuples(_regions, st.text("0123456789", min_size=4, max_size=4)).map("".join))
                | st.sampled_from(KNOWN), min_size=1, max_size=50))
def test_random_region_codes_agree(values: list[str]) -> None:
    _agree("region", values)
    _agree("region_known", values)


@st.composite
def _bank_cards(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=15, max_size=18))
    check = next(d for d in "0123456789" if luhn_ok(body + d)) if draw(st.booleans()) else draw(st.sampled_from("0123456789"))
    card = body + check
    if draw(st.booleans()):  # groups of four, as printed on the card
        card = " ".join(card[i:i + 4] for i in range(0, len(card), 4))
    return card


@settings(max_examples=60, deadline=None)
@given(st.lists(_mangled(_bank_cards()) | st.text("0123456789 ", max_size=22), min_size=1, max_size=50))
def test_random_bank_cards_agree(values: list[str]) -> None:
    _agree("bank_card", values)


@settings(max_examples=60, deadline=None)
@given(st.lists(_mangled(st.tuples(st.sampled_from(["", "86", "+86", "+86 ", "86-"]), st.just("1"),
                                   st.text("0123456789", min_size=10, max_size=10)).map("".join))
                | st.text("0123456789+- ", max_size=16), min_size=1, max_size=50))
def test_random_mobiles_agree(values: list[str]) -> None:
    _agree("mobile", values)
