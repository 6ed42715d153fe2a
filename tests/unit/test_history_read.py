"""`read_history`: the reader by extension, files as bytes, and every problem of every
file in one error; `read_upload`: one uploaded file's bytes read alike."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from relaydesk.adapters.history import read_history, read_upload
from relaydesk.domain.history import HistoryError, Labels

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "history"
MADRID = ZoneInfo("Europe/Madrid")
CSV = (
    "conversation_id,time,author,text,intent,needs_human\n"
    "c1,2026-03-02T11:00:00,customer,I want to return my shoes,return,no\n"
    "c1,2026-03-02T11:00:02,bot,Here is how returns work.,,\n"
)
JSONL = (
    '{"conversation_id": "j1", "time": "2026-03-02T12:00:00Z", "author": "customer", '
    '"text": "my card was charged twice", "needs_human": true, "queue": "billing", '
    '"priority": "P2"}\n'
)


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def read_problems(paths: list[Path], business_name: str | None = None) -> list[str]:
    with pytest.raises(HistoryError) as caught:
        read_history(paths, business_name=business_name)
    return caught.value.problems


def test_reads_each_file_by_its_extension(tmp_path: Path) -> None:
    """Conversations come in the order of the files; times without an offset are read in
    `tz`, a WhatsApp export's clock too; the extension's case does not matter."""
    export = shutil.copy(FIXTURES / "android_es.txt", tmp_path / "lucia.TXT")
    history = read_history(
        [write(tmp_path / "a.csv", CSV), write(tmp_path / "b.jsonl", JSONL), Path(export)],
        business_name="Acme Shop",
        tz=MADRID,
    )
    assert [c.id for c in history.conversations] == ["c1", "j1", "lucia"]
    first = history.conversations[0].turns[0]
    assert (first.at, first.labels, first.source) == (
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        Labels(intent="return", needs_human=False),
        f"{tmp_path / 'a.csv'}:2",
    )
    assert history.conversations[1].turns[0].labels == Labels(
        needs_human=True, queue="billing", priority="P2"
    )
    assert (
        history.conversation_count,
        history.turn_count,
        history.customer_turn_count,
        history.labelled_turn_count,
    ) == (3, 8, 5, 2)


def test_all_six_sample_exports_read_together(tmp_path: Path) -> None:
    """One business name for all: each export's own business name is copied to "Acme"."""
    paths = []
    for fixture in sorted(FIXTURES.glob("*.txt")):
        text = fixture.read_text(encoding="utf-8")
        text = text.replace("Acme Shop:", "Acme:").replace("Loja Acme:", "Acme:")
        paths.append(write(tmp_path / fixture.name, text))
    history = read_history(paths, business_name="Acme", tz=MADRID)
    assert [(c.id, len(c.turns)) for c in history.conversations] == [
        ("android_de", 4),
        ("android_en", 5),
        ("android_es", 5),
        ("android_us", 5),
        ("ios_en", 6),
        ("ios_pt_br", 5),
    ]
    assert history.notes == (
        f"{tmp_path / 'android_de.txt'}: no day above 12 shows whether dates are day-first "
        "or month-first; read as day-first (dd.mm.yy), the default; if they are month-first, "
        "read the file with date order mdy",
    )


def test_utf8_with_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    csv = write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + CSV.encode())
    jsonl = write(tmp_path / "bom.jsonl", b"\xef\xbb\xbf" + JSONL.encode())
    export = write(tmp_path / "bom.txt", b"\xef\xbb\xbf05/01/26, 10:00 - Ana: hola\n")
    history = read_history([csv, jsonl, export], business_name="Ana")
    assert [c.id for c in history.conversations] == ["c1", "j1", "bom"]


def test_every_problem_of_every_file_in_one_error(tmp_path: Path) -> None:
    """Nothing is returned when any file has a problem; problems come in file order."""
    good = write(tmp_path / "good.csv", CSV)
    bad_csv = write(tmp_path / "bad.csv", CSV + "c1,yesterday,customer,hi,,\n")
    bad_jsonl = write(tmp_path / "bad.jsonl", JSONL + "{oops}\n")
    export = write(tmp_path / "chat.txt", "05/01/26, 10:00 - Ana: hola\n")
    assert read_problems([good, bad_csv, bad_jsonl, export], business_name="Acme Shop") == [
        f'{bad_csv}:4: time "yesterday" is not an ISO 8601 date and time; write it like '
        "2026-01-05T10:11:12+01:00",
        f"{bad_jsonl}:2: not valid JSON (Expecting property name enclosed in double quotes at "
        "column 2); each line must be one JSON object",
        f'{export}: business name "Acme Shop" is not one of the people in this chat: "Ana"; '
        "give the name exactly as the export writes it",
    ]


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    paths = [
        tmp_path / "missing.csv",
        folder,
        write(tmp_path / "history.json", "[]"),
        write(tmp_path / "README", "notes"),
        write(
            tmp_path / "latin1.csv",
            CSV.encode() + "c2,2026-03-02T11:00:00,customer,adiós\n".encode("latin-1"),
        ),
        write(tmp_path / "utf16.txt", "05/01/26, 10:00 - Ana: hola\n".encode("utf-16")),
        write(tmp_path / "empty.txt", ""),
        write(tmp_path / "empty.jsonl", ""),
    ]
    accepted = (
        "give .jsonl (one JSON object a line); .csv (CSV with a header row); "
        '.txt (a WhatsApp "Export chat" file)'
    )
    assert read_problems(paths, business_name="Ana") == [
        f"{tmp_path / 'missing.csv'}: no such file",
        f"{folder}: is a directory; give the history files in it",
        f'{tmp_path / "history.json"}: cannot read ".json" files; {accepted}',
        f'{tmp_path / "README"}: cannot read "no extension" files; {accepted}',
        f"{tmp_path / 'latin1.csv'}:4: byte 0xf3 is not UTF-8; save the file as UTF-8",
        f"{tmp_path / 'utf16.txt'}: the file is UTF-16; save it as UTF-8",
        f"{tmp_path / 'empty.txt'}: empty file; an export's messages look like "
        '"[05/01/26, 10:11:12] Name: text" (iPhone) or "05/01/26, 10:11 - Name: text" '
        "(Android)",
        f"{tmp_path / 'empty.jsonl'}: empty file; write one JSON object a line",
    ]


def test_a_conversation_id_may_appear_in_one_file_only(tmp_path: Path) -> None:
    first = write(tmp_path / "march.csv", CSV)
    second = write(tmp_path / "april.csv", CSV.replace("2026-03", "2026-04"))
    export_a = write(tmp_path / "ana.txt", "05/01/26, 10:00 - Ana: hola\n")
    (tmp_path / "other").mkdir()
    export_b = write(tmp_path / "other" / "ana.txt", "06/01/26, 10:00 - Ana: hola otra vez\n")
    assert read_problems([first, second, export_a, export_b], business_name="Ana") == [
        f'{second}:2: conversation "c1" is also in {first}; a conversation\'s messages must '
        "all be in one file (rename one of the ids, or one of the exports)",
        f'{export_b}:1: conversation "ana" is also in {export_a}; a conversation\'s messages '
        "must all be in one file (rename one of the ids, or one of the exports)",
    ]


def test_a_whatsapp_export_needs_the_business_name(tmp_path: Path) -> None:
    export = write(tmp_path / "chat.txt", "05/01/26, 10:00 - Ana: hola\n")
    assert read_problems([export]) == [
        f"{export}: no business name given; it is needed to tell the business's messages "
        "from the customer's in a WhatsApp export"
    ]


def test_no_files_at_all() -> None:
    assert read_problems([]) == ["no history files given; give .jsonl, .csv or .txt files"]


def test_the_date_order_reaches_the_exports(tmp_path: Path) -> None:
    export = write(tmp_path / "chat.txt", "03/04/26, 10:00 - Ana: hola\n")
    history = read_history([export], business_name="Ana", date_order="mdy")
    assert history.conversations[0].started_at == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


class TestReadUpload:
    def test_reads_bytes_by_the_name_and_its_problems_name_it(self) -> None:
        history = read_upload("Past.CSV", b"\xef\xbb\xbf" + CSV.encode(), tz=MADRID)
        assert [c.id for c in history.conversations] == ["c1"]
        assert history.conversations[0].turns[0].source == "Past.CSV:2"
        with pytest.raises(HistoryError) as caught:
            read_upload("h.jsonl", b'{"conversation_id": "x"}\n')
        assert all(p.startswith("h.jsonl:1: ") for p in caught.value.problems)

    def test_an_export_is_named_after_the_file(self) -> None:
        history = read_upload(
            "Ana Lopez.txt",
            b"03/04/26, 10:00 - Ana: hola\n03/04/26, 10:01 - Shop: hi\n",
            business_name="Shop",
        )
        assert [c.id for c in history.conversations] == ["Ana Lopez"]

    @pytest.mark.parametrize(
        ("name", "data", "problem"),
        [
            ("h.json", b"{}", 'h.json: cannot read ".json" files; give .jsonl'),
            ("h.csv", "a\nb".encode("utf-16"), "h.csv: the file is UTF-16; save it as UTF-8"),
            ("h.csv", b"id\n\xff", "h.csv:2: byte 0xff is not UTF-8; save the file as UTF-8"),
            ("../h.csv", b"", "'../h.csv' is not a file name; give the file's own name"),
            ("", b"", "'' is not a file name; give the file's own name"),
        ],
    )
    def test_unreadable_uploads(self, name: str, data: bytes, problem: str) -> None:
        with pytest.raises(HistoryError) as caught:
            read_upload(name, data)
        assert caught.value.problems[0].startswith(problem)
