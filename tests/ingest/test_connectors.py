"""Connectors: encodings, CSV/Excel/JSON/SQL reading, every kind of bad input, and flat memory."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    insert,
)

from huiju.errors import Invalid
from huiju.ingest.connectors import (
    CONNECTORS,
    Connector,
    CsvConnector,
    SqlConnector,
    XlsxConnector,
    detect_kind,
    open_file,
    register,
)
from huiju.ingest.connectors.encoding import DecodedReader, detect


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo city's small source files and their manifest."""
    from huiju.demo.generator import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, scale="small")
    return out


@pytest.fixture(scope="module")
def manifest(demo) -> dict[str, dict]:
    return {f["key"]: f for f in json.loads((demo / "manifest.json").read_text("utf-8"))["files"]}


def table(conn) -> pa.Table:
    return pa.Table.from_batches(list(conn.read()), schema=conn.schema)


def rows(conn) -> list[dict]:
    return table(conn).to_pylist()


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


# --- encodings -------------------------------------------------------------------------------------

TEXT = "编号,名称,地址\n1,示例市第一人民医院,城关区黄河西路12号\n2,北辰源鑫广告有限公司,西岭区\n"


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk"), ("gb18030", "gb18030"),
])
def test_each_encoding_is_detected_and_decoded(tmp_path, encoding, expected):
    text = TEXT + ("3,䶮字号,永宁市\n" if encoding == "gb18030" else "")
    conn = open_file(write(tmp_path, "a.csv", text, encoding))
    assert conn.encoding == expected
    assert conn.columns == ["编号", "名称", "地址"]
    got = rows(conn)
    assert got[1]["名称"] == "北辰源鑫广告有限公司"
    if encoding == "gb18030":
        assert got[2]["名称"] == "䶮字号"  # U+4DAE is not in GBK: only GB18030 decodes it


def test_gbk_file_declared_as_utf8_is_refused_with_the_offset(tmp_path):
    data = ("id,名称\n1," + TEXT).encode("gbk")
    with pytest.raises(Invalid) as err:
        open_file(write(tmp_path, "a.csv", data), encoding="utf-8")
    assert err.value.params == {"encoding": "utf-8", "offset": 3}
    assert str(err.value) == "The file is not valid utf-8 text (first bad byte at offset 3)"


def test_bad_byte_past_the_detection_sample_is_reported_at_its_offset(tmp_path):
    head = "id,name\n" + "".join(f"{i},ascii name {i}\n" for i in range(80_000))
    data = head.encode() + "9,中文\n".encode("gbk")
    path = write(tmp_path, "late.csv", data)
    conn = open_file(path)
    assert conn.encoding == "utf-8"  # the first MiB is plain ASCII
    with pytest.raises(Invalid) as err:
        list(conn.read())
    assert err.value.params["offset"] == len(head.encode()) + 2
    assert "detected from the start" in err.value.message


def test_utf8_file_declared_as_gbk_is_refused(tmp_path):
    with pytest.raises(Invalid, match="declared as GBK but its text is UTF-8"):
        open_file(write(tmp_path, "a.csv", TEXT), encoding="GBK")


def test_unknown_encoding_and_undecodable_bytes_are_refused(tmp_path):
    with pytest.raises(Invalid, match="Unsupported text encoding latin-1"):
        open_file(write(tmp_path, "a.csv", TEXT), encoding="latin-1")
    with pytest.raises(Invalid, match="neither UTF-8 nor GBK/GB18030"):
        detect(b"id\n\xff\xff\xff\n", complete=True)


@pytest.mark.parametrize("codec", ["utf-8", "gb18030", "gbk", "utf-16"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7])
def test_characters_split_across_chunks_decode_correctly(codec, chunk):
    text = "名称,代码\n䶮中文𠀀,990102\n" if codec in ("utf-8", "gb18030", "utf-16") else "名称,代码\n中文,990102\n"
    data = text.encode(codec)
    reader = DecodedReader(io.BytesIO(data), codec, chunk_bytes=chunk)
    out = b""
    while piece := reader.read(2):
        out += piece
    assert out.decode("utf-8") == text


def test_csv_connector_with_a_chunk_size_that_splits_characters(tmp_path):
    path = write(tmp_path, "a.csv", TEXT, "gbk")
    for chunk in (3, 5, 7):
        assert rows(CsvConnector(path, chunk_bytes=chunk))[0]["地址"] == "城关区黄河西路12号"


def test_bad_byte_offset_is_exact_with_small_chunks():
    data = "名称\n中文".encode("gb18030") + b"\xff" + "尾".encode("gb18030")
    reader = DecodedReader(io.BytesIO(data), "gb18030", chunk_bytes=3)
    with pytest.raises(Invalid) as err:
        reader.read()
    assert err.value.params["offset"] == data.index(b"\xff")


def test_replacement_characters_are_reported(tmp_path):
    conn = open_file(write(tmp_path, "a.csv", "名称\n\ufffd\ufffd公司\n"))
    assert rows(conn)[0]["名称"] == "\ufffd\ufffd公司"
    assert [w.params for w in conn.warnings] == [{"count": 2}]


# --- CSV -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \n"])
def test_empty_file(tmp_path, data):
    with pytest.raises(Invalid, match="The file is empty"):
        open_file(write(tmp_path, "empty.csv", data))


@pytest.mark.parametrize("data", ["a,b,c\n", "a,b,c", "a,b,c\r\n\r\n"])
def test_header_only_gives_columns_and_no_batches(tmp_path, data):
    conn = open_file(write(tmp_path, "h.csv", data))
    assert conn.columns == ["a", "b", "c"]
    assert list(conn.read()) == []
    assert conn.rows_read == 0


def test_ragged_rows_go_to_rejects_with_their_row_numbers(tmp_path):
    lines = ["id,name,code"]
    ragged = {7, 500, 501, 2999, 3000}
    for i in range(1, 3001):
        lines.append(f"{i},name {i}" if i in ragged else f"{i},\"name\n{i}\",{i}" if i % 97 == 0 else f"{i},n{i},{i}")
        if i == 501:
            lines[-1] += ",extra,fields"
    path = write(tmp_path, "r.csv", "\n".join(lines) + "\n")
    conn = CsvConnector(path, block_bytes=4096, batch_rows=1000)
    batches = list(conn.read())
    got = pa.Table.from_batches(batches, schema=conn.schema).to_pylist()
    assert all(b.num_rows <= 1000 for b in batches)
    assert all(r["_row"] == int(r["id"]) for r in got)  # numbers stay aligned across blocks and rejects
    assert [r.row for r in conn.rejects] == sorted(ragged)
    assert conn.rejects[0].raw == "7,name 7"
    assert conn.rejects[0].params == {"actual": 2, "expected": 3}
    assert conn.rejects[2].params["actual"] == 4
    assert len(got) + len(conn.rejects) == conn.rows_read == 3000
    assert got[95]["name"] == "name\n97"  # a quoted field with a line break is one field


def test_rejects_can_go_to_a_sink(tmp_path):
    seen = []
    conn = open_file(write(tmp_path, "r.csv", "a,b\n1,2\n3\n"), on_reject=seen.append)
    assert [r["_row"] for r in rows(conn)] == [1]
    assert [(r.row, r.raw) for r in seen] == [(2, "3")]
    assert seen[0].localized()


@pytest.mark.parametrize("data, row", [
    ('a,b,c\n1,2,3\n4,"5,6\n7,8,9\n', 2),        # the open quote leaves the row short
    ('a,b,c\n1,2,3\n4,5,"6\n7,8,9\n10,11,12\n', 2),  # in the last field: pyarrow alone would accept it
    ('a,b,c\n1,2,3\n4,5,"6', 2),
])
def test_unterminated_quote_names_the_row(tmp_path, data, row):
    conn = open_file(write(tmp_path, "q.csv", data))
    with pytest.raises(Invalid, match="never closed") as err:
        list(conn.read())
    assert err.value.params["row"] == row


def test_unterminated_quote_in_a_big_file(tmp_path):
    body = "".join(f"{i},name {i}\n" for i in range(1, 2001))
    path = write(tmp_path, "q.csv", "id,name\n" + body + '2001,"never closed\n' + body)
    with pytest.raises(Invalid, match="never closed") as err:
        list(CsvConnector(path, block_bytes=4096).read())
    assert err.value.params["row"] > 1900


def test_literal_quotes_inside_a_field_are_kept(tmp_path):
    conn = open_file(write(tmp_path, "q.csv", 'a,b\n1,12" pipe\n2,"say ""hi"""\n'))
    assert [r["b"] for r in rows(conn)] == ['12" pipe', 'say "hi"']


def test_duplicate_and_blank_headers_are_renamed_and_reported(tmp_path):
    conn = open_file(write(tmp_path, "h.csv", "名称,名称,,代码, 名称 \n1,2,3,4,5\n"))
    assert conn.columns == ["名称", "名称_2", "列3", "代码", "名称_3"]
    assert [w.message for w in conn.warnings] == [
        "Column %(position)s repeats the name %(name)s; it was renamed %(renamed)s",
        "Column %(position)s has no name; it was named %(name)s",
        "Column %(position)s repeats the name %(name)s; it was renamed %(renamed)s",
    ]
    assert rows(conn)[0] == {"名称": "1", "名称_2": "2", "列3": "3", "代码": "4", "名称_3": "5", "_row": 1}


@pytest.mark.parametrize("sep", [",", "\t", "|", ";"])
def test_delimiter_is_sniffed_from_the_header(tmp_path, sep):
    conn = open_file(write(tmp_path, "d.txt", f"a{sep}b{sep}c\n1{sep}2{sep}3\n"))
    assert conn.delimiter == sep
    assert conn.columns == ["a", "b", "c"]


def test_tsv_by_extension_and_empty_values_are_null(tmp_path):
    conn = open_file(write(tmp_path, "d.tsv", "a\tb\n1\t\n\t\"\"\n"))
    assert rows(conn) == [{"a": "1", "b": None, "_row": 1}, {"a": None, "b": None, "_row": 2}]


def test_two_header_rows_in_csv(tmp_path):
    conn = open_file(write(tmp_path, "h.csv", "基本信息,,规模\n名称,代码,床位数\n医院,1299,10\n"), header_rows=2)
    assert conn.columns == ["基本信息/名称", "基本信息/代码", "规模/床位数"]
    assert rows(conn)[0]["_row"] == 1


def test_no_header_row_and_utf16(tmp_path):
    conn = open_file(write(tmp_path, "n.csv", "1,甲\n2,乙\n"), header_rows=0)
    assert conn.columns == ["列1", "列2"]
    assert [(r["列2"], r["_row"]) for r in rows(conn)] == [("甲", 1), ("乙", 2)]
    conn = open_file(write(tmp_path, "u.tsv", "\ufeff名称\t代码\n示例\t1\n", "utf-16-le"))
    assert conn.encoding == "utf-16" and rows(conn) == [{"名称": "示例", "代码": "1", "_row": 1}]
    with pytest.raises(Invalid, match="The option sheet does not apply to tsv files"):
        open_file(tmp_path / "u.tsv", sheet=1)


def test_ten_thousand_columns(tmp_path):
    width = 10_000
    header = ",".join(f"c{i}" for i in range(width))
    body = "\n".join(",".join(f"{r}-{i}" for i in range(width)) for r in range(3))
    conn = open_file(write(tmp_path, "wide.csv", header + "\n" + body + "\n"))
    got = table(conn)
    assert got.num_columns == width + 1 and got.num_rows == 3
    assert got.column("c9999").to_pylist() == ["0-9999", "1-9999", "2-9999"]


def test_demo_city_csv_files(demo, manifest):
    for spec in manifest.values():
        if spec["format"] != "csv":
            continue
        conn = open_file(demo / spec["file"])
        assert conn.encoding == spec["encoding"], spec["file"]
        assert conn.columns == spec["columns"]
        assert table(conn).num_rows == spec["rows"] and not conn.rejects


def test_memory_stays_flat_on_a_50_mb_csv(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="gb18030") as fh:
        fh.write("统一社会信用代码,企业名称,住所,注册资本\n")
        line = "91990102MA{:08d},示例市北辰源鑫广告有限公司第{}分公司,示例省示例市城关区黄河西路{}号,{}.00\n"
        start = 0
        while fh.tell() < 50 << 20:
            fh.writelines(line.format(i, i, i % 999, i % 10_000) for i in range(start, start + 20_000))
            start += 20_000
    script = textwrap.dedent(f"""
        import resource
        from huiju.ingest.connectors import open_file
        conn = open_file({str(path)!r})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows = sum(b.num_rows for b in conn.read())
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(rows, (after - before) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    rows_read, growth_mb = int(out[0]), int(out[1])
    assert rows_read > 500_000
    assert growth_mb < 200, f"peak RSS grew by {growth_mb} MB reading a 50 MB file"


# --- Excel -----------------------------------------------------------------------------------------

def test_medical_institutions_two_row_merged_header(demo, manifest):
    spec = manifest["medical_institutions"]
    conn = open_file(demo / spec["file"])
    assert isinstance(conn, XlsxConnector) and conn.header_end == 2
    assert conn.columns[:5] == ["基本信息/机构名称", "基本信息/统一社会信用代码", "基本信息/机构类别", "基本信息/医院等级",
                                "规模/床位数"]
    assert [c.split("/")[-1] for c in conn.columns] == spec["columns"]
    got = rows(conn)
    assert len(got) == spec["rows"]
    first = got[0]
    assert first["_row"] == 1 and first["规模/床位数"] == "1796" and first["位置/经度"] == "113.670524"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first["登记/成立日期"])  # a date cell, not a serial
    serial = next(d for d in json.loads((demo / "manifest.json").read_text())["defects"]
                  if d["dataset"] == "medical_institutions" and d["detail"] == "excel_serial")
    assert got[serial["row"] - 1]["登记/成立日期"] == serial["bad"]  # a bare number in a General cell stays as typed
    assert open_file(demo / spec["file"], header_rows=2).columns == conn.columns


def test_title_row_is_skipped(demo, manifest):
    spec = manifest["monthly_indicators"]
    auto = open_file(demo / spec["file"])
    assert auto.columns == spec["columns"] and auto.header_end == 2
    assert "title" in auto.warnings[0].message
    assert table(auto).num_rows == spec["rows"]
    assert open_file(demo / spec["file"], header_rows=2).columns == spec["columns"]


def test_several_sheets_by_name_and_index(demo, manifest):
    path = demo / manifest["students"]["file"]
    conn = open_file(path, sheet="学生学籍")
    assert conn.sheets() == ["学校名录", "学生学籍"]
    assert conn.columns == manifest["students"]["columns"]
    assert table(conn).num_rows == manifest["students"]["rows"]
    assert open_file(path, sheet=0).columns == manifest["schools"]["columns"]
    assert open_file(path, sheet=1).sheet_name == "学生学籍"
    with pytest.raises(Invalid, match="no sheet 汇总 .its sheets: 学校名录, 学生学籍"):
        open_file(path, sheet="汇总")


def _workbook(tmp_path: Path, rows: list[list], name: str = "w.xlsx", formats: dict | None = None,
              merges: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    for row in rows:
        ws.append(row)
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    for ref in merges:
        ws.merge_cells(ref)
    path = tmp_path / name
    wb.save(path)
    return path


def test_excel_dates_numbers_and_booleans(tmp_path):
    path = _workbook(tmp_path, [
        ["日期", "时间", "序列号", "数量", "金额", "有效"],
        [dt.datetime(2023, 1, 5), dt.datetime(2023, 1, 5, 8, 0), 44931, 1796.0, 12.5, True],
    ], formats={"A2": "yyyy-mm-dd", "B2": "yyyy-mm-dd hh:mm:ss", "C2": "yyyy/m/d"})
    assert rows(open_file(path))[0] == {"日期": "2023-01-05", "时间": "2023-01-05 08:00:00", "序列号": "2023-01-05",
                                        "数量": "1796", "金额": "12.5", "有效": "true", "_row": 1}


def _set_cached(path: Path, cell: str, value: str) -> None:
    """Give one formula cell a cached value, as Excel does on save (openpyxl writes none)."""
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = re.sub(rf'(<c r="{cell}"[^>]*>\s*<f>[^<]*</f>)\s*<v\s*/>|(<c r="{cell}"[^>]*>\s*<f>[^<]*</f>)\s*<v></v>',
                   lambda m: (m[1] or m[2]) + f"<v>{value}</v>", sheet)
    if f"<v>{value}</v>" not in sheet:
        sheet = re.sub(rf'(<c r="{cell}"[^>]*>\s*<f>[^<]*</f>)', rf"\1<v>{value}</v>", sheet)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_formulas_use_the_cached_value_or_reject_the_row(tmp_path):
    path = _workbook(tmp_path, [["数量", "两倍"], [21, "=A2*2"], [5, "=A3*2"]])
    _set_cached(path, "B2", "42")
    conn = open_file(path)
    assert rows(conn) == [{"数量": "21", "两倍": "42", "_row": 1}]
    [reject] = conn.rejects
    assert (reject.row, reject.raw, reject.params) == (2, "5\t=A3*2", {"cell": "B3"})
    assert reject.reason.startswith("Formula without a cached value")
    assert conn.rows_read == 2


def test_values_right_of_the_header_and_merged_data_cells(tmp_path):
    path = _workbook(tmp_path, [["区县", "学校"], ["城关区", "一中"], [None, "二中"], ["西岭区", "三中", "备注"]],
                     merges=("A2:A3",))
    conn = open_file(path, header_rows=1)
    assert [(r["区县"], r["学校"]) for r in rows(conn)] == [("城关区", "一中"), ("城关区", "二中")]
    assert conn.rejects[0].row == 3 and conn.rejects[0].params == {"column": "C"}
    assert "merged ranges" in conn.warnings[-1].message


def test_sheet_without_header_row(tmp_path):
    conn = open_file(_workbook(tmp_path, [["甲", 1], ["乙", 2, "x"]]), header_rows=0)
    assert conn.columns == ["列1", "列2", "列3"]  # as wide as the widest of the first rows
    assert [(r["列1"], r["列3"], r["_row"]) for r in rows(conn)] == [("甲", None, 1), ("乙", "x", 2)]


def test_empty_sheet_is_refused(tmp_path):
    with pytest.raises(Invalid, match="The sheet 数据 is empty"):
        open_file(_workbook(tmp_path, []))


def test_corrupt_xlsx(tmp_path):
    good = _workbook(tmp_path, [["a"], [1]])
    truncated = write(tmp_path, "cut.xlsx", good.read_bytes()[:600])
    with pytest.raises(Invalid, match="The spreadsheet cannot be read"):
        open_file(truncated)
    no_book = tmp_path / "nobook.xlsx"
    with zipfile.ZipFile(no_book, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    with pytest.raises(Invalid, match="The spreadsheet cannot be read"):
        open_file(no_book)
    with pytest.raises(Invalid, match="named fake.xlsx but its content is not a XLSX file"):
        open_file(write(tmp_path, "fake.xlsx", "a,b\n1,2\n"))


def test_zip_bomb_is_refused_before_expanding(tmp_path, monkeypatch):
    path = _workbook(tmp_path, [["a"], [1]])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("xl/media/image1.bin", b"\0" * (5 << 20))
    assert path.stat().st_size < 20_000  # a few KB on disk
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("expanded a bomb"))
    with pytest.raises(Invalid, match="expands \\d+ times, above the limit of 100"):
        open_file(path)
    with pytest.raises(Invalid, match="would expand to \\d+ bytes, above the limit of 1048576"):
        open_file(path, max_bytes=1 << 20)


# --- XLS (BIFF8) -----------------------------------------------------------------------------------

def _rec(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _ustr(text: str, lenlen: int = 1) -> bytes:
    return struct.pack("<B" if lenlen == 1 else "<H", len(text)) + b"\x01" + text.encode("utf-16-le")


def write_xls(path: Path, sheets: list[tuple[str, list[list], list[tuple[int, int, int, int]]]]) -> Path:
    """A minimal BIFF8 workbook in an OLE2 container; cells are text, numbers or ("date", serial)."""
    bof = lambda kind: _rec(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))
    font = _rec(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + _ustr("Arial"))
    xf = lambda fmt, style: _rec(0x00E0, struct.pack(
        "<HHHBBBBIIH", 0, fmt, 0xFFF5 if style else 1, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    head = bof(5) + _rec(0x0042, struct.pack("<H", 1200)) + _rec(0x0022, struct.pack("<H", 0)) + font * 5
    head += b"".join(xf(0, True) for _ in range(16)) + xf(0, False) + xf(14, False)  # XF 16 general, 17 date
    bodies = []
    for _name, cells, merges in sheets:
        body = bof(0x10) + _rec(0x0200, struct.pack("<IIHHH", 0, len(cells), 0, max(map(len, cells)), 0))
        for r, row in enumerate(cells):
            for c, v in enumerate(row):
                if isinstance(v, str):
                    body += _rec(0x0204, struct.pack("<HHH", r, c, 16) + _ustr(v, 2))
                elif v is not None:
                    xf_index, number = (17, v[1]) if isinstance(v, tuple) else (16, v)
                    body += _rec(0x0203, struct.pack("<HHHd", r, c, xf_index, number))
        if merges:
            body += _rec(0x00E5, struct.pack("<H", len(merges)) + b"".join(struct.pack("<HHHH", *m) for m in merges))
        bodies.append(body + _rec(0x000A))
    boundsheets = [_ustr(name) for name, _, _ in sheets]
    offset = len(head) + sum(len(b) + 10 for b in boundsheets) + 4
    for name, body in zip(boundsheets, bodies):
        head += _rec(0x0085, struct.pack("<IBB", offset, 0, 0) + name)
        offset += len(body)
    stream = head + _rec(0x000A) + b"".join(bodies)
    stream += b"\0" * (max(4096, -(-len(stream) // 512) * 512) - len(stream))  # no mini stream
    n = len(stream) // 512

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le") if name else b""
        return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1 if name else 0, 0xFFFFFFFF,
                                                   0xFFFFFFFF, child) + b"\0" * 36 + struct.pack("<IQ", start, size))

    directory = (entry("Root Entry", 5, 1, 0xFFFFFFFE, 0) + entry("Workbook", 2, 0xFFFFFFFF, 0, len(stream))
                 + entry("", 0, 0xFFFFFFFF, 0, 0) * 2)
    fat = [*range(1, n), 0xFFFFFFFE, 0xFFFFFFFE, 0xFFFFFFFD]
    fat_sector = struct.pack("<128I", *(fat + [0xFFFFFFFF] * (128 - len(fat))))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<9I", 0, 1, n, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<I", n + 1) + b"\xff" * 4 * 108)
    path.write_bytes(header + stream + directory + fat_sector)
    return path


def test_xls_with_merged_header_dates_and_several_sheets(tmp_path):
    path = write_xls(tmp_path / "legacy.xls", [
        ("说明", [["本表由卫健委报送"]], []),
        ("医疗机构", [["基本信息", None, "规模"], ["机构名称", "成立日期", "床位数"],
                  ["第一医院", ("date", 45124.0), 1796.0], ["第二医院", "1991年1月23日", 878.5]], [(0, 0, 0, 1)]),
    ])
    assert detect_kind(path) == "xls"
    conn = open_file(path, sheet="医疗机构")
    assert conn.sheets() == ["说明", "医疗机构"]
    assert conn.columns == ["基本信息/机构名称", "基本信息/成立日期", "规模/床位数"]
    assert rows(conn) == [
        {"基本信息/机构名称": "第一医院", "基本信息/成立日期": "2023-07-17", "规模/床位数": "1796", "_row": 1},
        {"基本信息/机构名称": "第二医院", "基本信息/成立日期": "1991年1月23日", "规模/床位数": "878.5", "_row": 2},
    ]
    corrupt = write(tmp_path, "bad.xls", path.read_bytes()[:1500])
    with pytest.raises(Invalid, match="The spreadsheet cannot be read"):
        open_file(corrupt)


# --- JSON ------------------------------------------------------------------------------------------

def test_json_wrapper_detection_on_the_demo_api_page(demo, manifest):
    spec = manifest["scenic_flow"]
    conn = open_file(demo / spec["file"])
    assert conn.columns == spec["columns"]
    assert conn.warnings[0].params == {"key": "data"}
    got = rows(conn)
    assert len(got) == spec["rows"]
    assert got[0]["maxCapacity"] == "30000" and got[0]["_row"] == 1


def test_json_array_nested_values_key_union_and_numbers(tmp_path):
    doc = [{"id": 1, "amount": 12.50, "tags": ["a", "b"]}, {"id": 2, "owner": {"name": "张三"}, "ok": True},
           "not an object", {"id": 3.0e3, "amount": None}]
    path = write(tmp_path, "a.json", json.dumps(doc, ensure_ascii=False).replace("12.5", "12.50"))
    conn = open_file(path)
    assert conn.columns == ["id", "amount", "tags", "owner", "ok"]
    got = rows(conn)
    assert got[0] == {"id": "1", "amount": "12.50", "tags": '["a","b"]', "owner": None, "ok": None, "_row": 1}
    assert got[1]["owner"] == '{"name":"张三"}' and got[1]["ok"] == "true"
    assert got[2]["id"] == "3000.0" and got[2]["_row"] == 4
    assert [(r.row, r.raw) for r in conn.rejects] == [(3, "not an object")]


@pytest.mark.parametrize("doc", [
    {"code": 0, "data": {"list": [{"a": 1}], "total": 1}},
    {"code": 0, "result": {"records": [{"a": 1}]}},
    {"status": "ok", "payload": [{"a": 1}]},
])
def test_json_nested_wrappers(tmp_path, doc):
    assert rows(open_file(write(tmp_path, "w.json", json.dumps(doc)))) == [{"a": "1", "_row": 1}]


def test_bad_json_documents(tmp_path):
    with pytest.raises(Invalid, match="holds no list of records"):
        open_file(write(tmp_path, "a.json", '{"code": 0, "message": "ok"}'))
    with pytest.raises(Invalid, match="cannot be parsed: .* \\(line 2, column"):
        open_file(write(tmp_path, "b.json", '[{"a": 1},\n {"a": }]'))
    with pytest.raises(Invalid, match="above the limit of 5 for one document"):
        open_file(write(tmp_path, "c.json", '[{"a": 1}]'), max_bytes=5)


def test_ndjson_bad_line_is_rejected_with_its_line_number(tmp_path):
    data = '{"a": 1, "b": "x"}\n\n{"a": 2, "c": [1]}\n{"a": 3,\n[1, 2]\n{"a": 5}\n'
    path = write(tmp_path, "a.json", data)
    assert detect_kind(path) == "ndjson"
    conn = open_file(path)
    assert conn.columns == ["a", "b", "c"]
    got = rows(conn)
    assert [(r["_row"], r["a"], r["c"]) for r in got] == [(1, "1", None), (3, "2", "[1]"), (6, "5", None)]
    assert [(r.row, r.raw) for r in conn.rejects] == [(4, '{"a": 3,'), (5, "[1, 2]")]
    assert conn.rejects[0].reason.startswith("The line is not valid JSON")
    assert len(got) + len(conn.rejects) == conn.rows_read == 5


def test_geojson_features(demo, manifest):
    conn = open_file(demo / manifest["region_boundaries"]["file"])
    assert conn.columns == [*manifest["region_boundaries"]["columns"], "geometry"]
    first = rows(conn)[0]
    assert json.loads(first["geometry"])["type"] == "Polygon" and json.loads(first["centroid"])[0] > 100


# --- SQL -------------------------------------------------------------------------------------------

def test_sqlite_table_and_since_cursor(demo, manifest):
    spec = manifest["population"]
    path = demo / spec["file"]
    with pytest.raises(Invalid, match="Name the table to read; the database has: RK_JBXX, ZD_ZDSM"):
        open_file(path)
    full = open_file(path, table=spec["table"], batch_rows=500)
    assert full.columns == spec["columns"]
    batches = list(full.read())
    assert [b.num_rows for b in batches] == [500] * 4
    stamps = sorted(pa.Table.from_batches(batches).column("GXSJ").to_pylist())
    since = stamps[-10]
    inc = open_file(path, table=spec["table"], columns=["GMSFHM", "XM"], since_column="GXSJ", since_value=since)
    got = rows(inc)
    assert list(got[0]) == ["GMSFHM", "XM", "_row"]
    assert len(got) == sum(s > since for s in stamps)
    assert inc.cursor_value == stamps[-1]
    again = open_file(path, table=spec["table"], since_column="GXSJ", since_value=inc.cursor_value)
    assert rows(again) == [] and again.cursor_value is None


def test_sql_errors(demo, manifest):
    path = demo / manifest["population"]["file"]
    with pytest.raises(Invalid, match="no table NOPE"):
        open_file(path, table="NOPE")
    with pytest.raises(Invalid, match="RK_JBXX has no column AGE"):
        open_file(path, table="RK_JBXX", columns=["AGE"])


def _typed_table(url: str) -> tuple:
    engine = create_engine(url)
    meta = MetaData()
    t = Table("huiju_conn_test", meta, Column("id", Integer, primary_key=True), Column("name", String(20)),
              Column("amount", Numeric(10, 2)), Column("updated", DateTime))
    meta.drop_all(engine)
    meta.create_all(engine)
    base = dt.datetime(2024, 1, 1, 8, 0)
    with engine.begin() as conn:
        conn.execute(insert(t), [{"id": i, "name": f"名{i}", "amount": f"{i}.50", "updated": base + dt.timedelta(hours=i)}
                                 for i in range(1, 251)])
    return engine, meta


def _check_typed(url: str) -> None:
    conn = SqlConnector(url, "huiju_conn_test", since_column="updated", since_value="2024-01-01 18:00:00",
                        batch_rows=64)
    got = rows(conn)
    assert len(got) == 240 and got[0] == {"id": "11", "name": "名11", "amount": "11.50",
                                          "updated": "2024-01-01 19:00:00", "_row": 1}
    assert conn.cursor_value == dt.datetime(2024, 1, 11, 18, 0)


def test_sql_typed_columns_and_text_cursor_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'src.db'}"
    engine, _ = _typed_table(url)
    engine.dispose()
    _check_typed(url)


def test_sql_on_postgresql_streams_with_a_server_side_cursor(pg_cluster):
    engine, meta = _typed_table(pg_cluster.url())
    try:
        _check_typed(pg_cluster.url())
    finally:
        meta.drop_all(engine)
        engine.dispose()


# --- registry --------------------------------------------------------------------------------------

def test_every_builtin_kind_is_a_connector(demo, manifest):
    assert {"csv", "tsv", "xlsx", "xls", "json", "ndjson", "sqlite", "sql"} <= set(CONNECTORS)
    for key in ("legal_entities", "medical_institutions", "scenic_flow"):
        assert isinstance(open_file(demo / manifest[key]["file"]), Connector)


def test_plugins_register_new_kinds_and_options_are_checked(tmp_path, monkeypatch):
    monkeypatch.setattr("huiju.ingest.connectors.base.CONNECTORS", dict(CONNECTORS))
    monkeypatch.setattr("huiju.ingest.connectors.base.EXTENSIONS", {})

    def fixed_width(path: Path, *, batch_rows: int) -> CsvConnector:
        return CsvConnector(path, delimiter="|", batch_rows=batch_rows)

    register("fixed", fixed_width, ".fw")
    assert open_file(write(tmp_path, "a.fw", "a|b\n1|2\n")).columns == ["a", "b"]
    with pytest.raises(Invalid, match="Unknown file format dbf"):
        open_file(write(tmp_path, "a.csv", "a\n1\n"), format="dbf")
    with pytest.raises(Invalid, match="The option sheet does not apply to fixed files"):
        open_file(tmp_path / "a.fw", sheet="x")
    with pytest.raises(Invalid, match="does not exist"):
        open_file(tmp_path / "missing.csv")


def test_replacement_characters_are_counted_across_read_seams(tmp_path):
    from huiju.ingest.connectors.csv import _count_replacements

    mark = "\ufffd".encode()
    for at in range((1 << 20) - 3, (1 << 20) + 1):  # the character ends before, straddles, or starts at a seam
        path = tmp_path / f"f{at}.csv"
        path.write_bytes(b"a" * at + mark + b"b" * 10 + mark * 2 + b"\n")
        assert _count_replacements(path) == 3
    path.write_bytes(b"x" * (2 << 20))
    assert _count_replacements(path) == 0
