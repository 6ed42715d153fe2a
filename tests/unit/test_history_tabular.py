"""History as one message a row: JSON Lines and CSV, their labels and every bad row."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from relaydesk.adapters.history.tabular import parse_csv, parse_jsonl
from relaydesk.domain.history import History, HistoryError, Labels, Turn

MADRID = ZoneInfo("Europe/Madrid")
UTC_ZONE = ZoneInfo("UTC")
HEADER = "conversation_id,time,author,text,intent,needs_human,queue,priority\n"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def csv_problems(text: str) -> list[str]:
    with pytest.raises(HistoryError) as caught:
        parse_csv(text, source="h.csv", tz=UTC_ZONE)
    return caught.value.problems


def jsonl_problems(text: str) -> list[str]:
    with pytest.raises(HistoryError) as caught:
        parse_jsonl(text, source="h.jsonl", tz=UTC_ZONE)
    return caught.value.problems


class TestJsonl:
    def test_reads_conversations_in_order_of_first_appearance_turns_by_time(self) -> None:
        """Rows of two conversations interleave; each conversation's turns come out in
        time order, whatever the rows' order, and equal times keep the file's order."""
        text = (
            '{"conversation_id": "c-2", "time": "2026-01-05T10:00:00Z", "author": "customer",'
            ' "text": "hola"}\n'
            '{"conversation_id": "c-1", "time": "2026-01-05T09:01:00Z", "author": "bot",'
            ' "text": "Hi! How can I help?"}\n'
            '{"conversation_id": "c-1", "time": "2026-01-05T09:00:00Z", "author": "customer",'
            ' "text": "hello", "intent": "greeting", "needs_human": false}\n'
            '{"conversation_id": "c-1", "time": "2026-01-05T09:01:00Z", "author": "agent",'
            ' "text": "Ana here, reading now"}\n'
        )
        history = parse_jsonl(text, source="h.jsonl", tz=UTC_ZONE)

        assert [c.id for c in history.conversations] == ["c-2", "c-1"]
        assert history.conversations[1].turns == (
            Turn(
                "c-1",
                utc(2026, 1, 5, 9, 0),
                "customer",
                "hello",
                Labels(intent="greeting", needs_human=False),
                "h.jsonl:3",
            ),
            Turn("c-1", utc(2026, 1, 5, 9, 1), "bot", "Hi! How can I help?", None, "h.jsonl:2"),
            Turn("c-1", utc(2026, 1, 5, 9, 1), "agent", "Ana here, reading now", None, "h.jsonl:4"),
        )

    def test_times_without_an_offset_are_read_in_the_zone_given(self) -> None:
        """A naive time is local to `tz` (CET in January, CEST in July); an offset or Z
        wins over `tz`; everything comes out in UTC."""
        rows = [
            ("2026-01-05T10:00:00", utc(2026, 1, 5, 9, 0)),
            ("2026-07-05 10:00", utc(2026, 7, 5, 8, 0)),
            ("2026-07-05T10:00:00-03:00", utc(2026, 7, 5, 13, 0)),
            ("2026-07-05T10:00:00Z", utc(2026, 7, 5, 10, 0)),
        ]
        text = "".join(
            f'{{"conversation_id": "c{i}", "time": "{time}", "author": "customer", "text": "hi"}}\n'
            for i, (time, _) in enumerate(rows)
        )
        history = parse_jsonl(text, source="h.jsonl", tz=MADRID)
        assert [c.turns[0].at for c in history.conversations] == [at for _, at in rows]

    def test_integer_ids_json_booleans_nulls_and_blank_lines(self) -> None:
        """An integer conversation id becomes a string; null and "" labels are unknown;
        blank lines (and a byte order mark) are skipped."""
        text = (
            '\ufeff{"conversation_id": 42, "time": "2026-01-05T09:00:00Z", "author": '
            '"Customer", "text": "  I want a refund  ", "intent": "", "needs_human": true, '
            '"queue": null, "priority": "p2"}\n\n   \n'
            '{"conversation_id": 42, "time": "2026-01-05T09:00:05Z", "author": "customer", '
            '"text": "thanks", "intent": null, "needs_human": null}\n'
        )
        (conversation,) = parse_jsonl(text, source="h.jsonl", tz=UTC_ZONE).conversations
        assert conversation.id == "42"
        assert [(t.author, t.text, t.labels, t.source) for t in conversation.turns] == [
            ("customer", "I want a refund", Labels(needs_human=True, priority="P2"), "h.jsonl:1"),
            ("customer", "thanks", None, "h.jsonl:4"),
        ]

    def test_every_bad_line_is_reported_with_its_line(self) -> None:
        text = "\n".join(
            [
                '{"conversation_id": "c1", "time": "2026-01-05T09:00:00Z", "author": "customer"',
                '["c1", "2026-01-05T09:00:00Z", "customer", "hi"]',
                '{"conversation_id": "c1", "time": "2026-01-05T09:00:00Z"}',
                '{"conversation_id": "c1", "time": "2026-01-05T09:00:00Z", "author": "client",'
                ' "text": "hi"}',
                '{"conversation_id": "c1", "time": "05/01/2026 09:00", "author": "customer",'
                ' "text": "hi"}',
                '{"conversation_id": "c1", "time": "2026-01-05T09:00:00Z", "author": "customer",'
                ' "text": 5, "channel": "whatsapp", "need_human": "yes"}',
                '{"conversation_id": true, "time": "2026-01-05T09:00:00Z", "author": "customer",'
                ' "text": "hi", "needs_human": 2}',
            ]
        )
        assert jsonl_problems(text) == [
            "h.jsonl:1: not valid JSON (Expecting ',' delimiter at column 79); each line must"
            " be one JSON object",
            "h.jsonl:2: a JSON array, not an object; each line must be one JSON object with"
            " conversation_id, time, author and text",
            "h.jsonl:3: author and text are missing or empty; every message needs"
            " conversation_id, time, author and text",
            'h.jsonl:4: author "client" is not customer, bot or agent',
            'h.jsonl:5: time "05/01/2026 09:00" is not an ISO 8601 date and time; write it like'
            " 2026-01-05T10:11:12+01:00",
            'h.jsonl:6: unknown fields "channel", "need_human"; the fields are conversation_id,'
            " time, author, text, intent, needs_human, queue, priority",
            "h.jsonl:6: text is 5, a JSON number; write it as a string",
            "h.jsonl:7: conversation_id is true, a JSON boolean; write it as a string",
            "h.jsonl:7: needs_human 2 is not true, false, yes, no, 1 or 0; leave it empty when"
            " unknown",
        ]

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("", "h.jsonl: empty file; write one JSON object a line"),
            ("\n  \n", "h.jsonl: empty file; write one JSON object a line"),
        ],
    )
    def test_a_file_without_messages_is_a_problem(self, text: str, problem: str) -> None:
        assert jsonl_problems(text) == [problem]


class TestCsv:
    def test_reads_labels_quoted_commas_and_multi_line_texts(self) -> None:
        """Quoted fields hold commas, quotes and line breaks (CRLF read as LF); a turn's
        source is the line its record starts on; column names are matched without case or
        spaces."""
        text = (
            "Conversation_ID, Time ,Author,Text,Intent,Needs_Human,Queue,Priority\r\n"
            'c1,2026-03-02T11:00:00+01:00,customer,"Hi, my parcel 1182\r\nnever came.\r\n'
            'Can a ""real"" person help?",where_is_my_order,yes,logistics,P2\r\n'
            "\r\n"
            "c1,2026-03-02T11:00:30+01:00,bot,Let me get someone for you.,,,,\r\n"
            "c1,2026-03-02T11:04:00+01:00,agent,This is Marta. Looking into it now.,,,,\r\n"
        )
        history = parse_csv(text, source="h.csv", tz=UTC_ZONE)
        assert history.conversations[0].turns == (
            Turn(
                "c1",
                utc(2026, 3, 2, 10, 0),
                "customer",
                'Hi, my parcel 1182\nnever came.\nCan a "real" person help?',
                Labels("where_is_my_order", True, "logistics", "P2"),
                "h.csv:2",
            ),
            Turn(
                "c1",
                utc(2026, 3, 2, 10, 0, 30),
                "bot",
                "Let me get someone for you.",
                None,
                "h.csv:6",
            ),
            Turn(
                "c1",
                utc(2026, 3, 2, 10, 4),
                "agent",
                "This is Marta. Looking into it now.",
                None,
                "h.csv:7",
            ),
        )

    def test_only_the_required_columns_is_enough(self) -> None:
        text = "text,author,time,conversation_id\nhello,customer,2026-03-02T11:00:00,c9\n"
        (conversation,) = parse_csv(text, source="h.csv", tz=MADRID).conversations
        assert conversation.turns == (
            Turn("c9", utc(2026, 3, 2, 10, 0), "customer", "hello", None, "h.csv:2"),
        )

    @pytest.mark.parametrize(
        ("value", "needs_human"),
        [
            ("true", True), ("TRUE", True), ("yes", True), ("Yes", True), ("1", True),
            ("false", False), ("no", False), ("NO", False), ("0", False), ("", None),
            ("  ", None),
        ],
    )  # fmt: skip
    def test_needs_human_values(self, value: str, needs_human: bool | None) -> None:
        text = f"{HEADER}c1,2026-03-02T11:00:00Z,customer,hi,,{value},,\n"
        turn = parse_csv(text, source="h.csv", tz=UTC_ZONE).conversations[0].turns[0]
        expected = None if needs_human is None else Labels(needs_human=needs_human)
        assert turn.labels == expected

    def test_every_bad_row_is_reported_with_the_line_it_starts_on(self) -> None:
        """A quoted text over three lines pushes the next record's line number on."""
        text = (
            HEADER
            + 'c1,2026-03-02T11:00:00Z,customer,"one\ntwo\nthree",,maybe,,\n'
            + "c1,2026-03-02,customer,hi,,,,high\n"
            + "c1,2026-03-02T11:01:00Z,bot,Sure!,refund,no,,\n"
            + "c1,2026-03-02T11:02:00Z,agent,hi,,,billing,P1\n"
            + ",2026-03-02T25:00:00Z,robot,,,,,\n"
            + "c1,2026-03-02T11:03:00Z,customer,hi, there,,,,\n"
            + "c1,2026-03-02T11:03:00Z,customer,hi\n"
        )
        assert csv_problems(text) == [
            'h.csv:2: needs_human "maybe" is not true, false, yes, no, 1 or 0; leave it empty'
            " when unknown",
            'h.csv:5: time "2026-03-02" has no time of day; write it like'
            " 2026-01-05T10:11:12+01:00",
            'h.csv:5: priority "high" is not P1, P2, P3 or P4; leave it empty when unknown',
            'h.csv:6: a bot message has labels (intent "refund", needs_human "no"); labels'
            " belong on customer messages only: move them to the customer's message or clear"
            " them",
            'h.csv:7: an agent message has labels (queue "billing", priority "P1"); labels'
            " belong on customer messages only: move them to the customer's message or clear"
            " them",
            "h.csv:8: conversation_id and text are missing or empty; every message needs"
            " conversation_id, time, author and text",
            'h.csv:8: author "robot" is not customer, bot or agent',
            'h.csv:8: time "2026-03-02T25:00:00Z" is not an ISO 8601 date and time (hour must'
            " be in 0..23); write it like 2026-01-05T10:11:12+01:00",
            "h.csv:9: 9 fields where the header has 8; put a text that holds a comma in double"
            ' quotes ("like, this")',
            "h.csv:10: 4 fields where the header has 8; give every column, empty ones too",
        ]

    def test_header_problems_stop_the_file(self) -> None:
        text = "conversation,time,author,message,text,text,channel\nc1,x,y,z,a,b,c\n"
        assert csv_problems(text) == [
            "h.csv:1: the header has no conversation_id column; the first row must name the"
            " columns: conversation_id, time, author, text, and optionally intent, needs_human,"
            " queue, priority",
            'h.csv:1: unknown columns "conversation", "message", "channel"; the columns are'
            " conversation_id, time, author, text, intent, needs_human, queue, priority",
            "h.csv:1: text appear more than once in the header",
        ]

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("", "h.csv: empty file; the first row must name the columns: conversation_id,"
                 " time, author, text, and optionally intent, needs_human, queue, priority"),
            ("\n\n", "h.csv: empty file; the first row must name the columns: conversation_id,"
                     " time, author, text, and optionally intent, needs_human, queue, priority"),
            (HEADER, "h.csv: no messages, only a header"),
            (HEADER + "\n,,,,,,,\n", "h.csv: no messages, only a header"),
        ],
    )  # fmt: skip
    def test_a_file_without_messages_is_a_problem(self, text: str, problem: str) -> None:
        assert csv_problems(text) == [problem]

    def test_a_field_over_the_csv_limit_is_reported_at_its_line(self) -> None:
        text = f'{HEADER}c1,2026-03-02T11:00:00Z,customer,hi,,,,\nc1,x,customer,"{"a" * 140_000}"\n'
        assert csv_problems(text) == [
            "h.csv:3: not readable as CSV (field larger than field limit (131072))"
        ]


def test_the_history_counts_turns() -> None:
    text = (
        HEADER
        + "a,2026-03-02T11:00:00Z,customer,hi,greeting,,,\n"
        + "a,2026-03-02T11:00:01Z,bot,Hello!,,,,\n"
        + "b,2026-03-02T12:00:00Z,customer,refund please,,,,\n"
    )
    history: History = parse_csv(text, source="h.csv", tz=UTC_ZONE)
    assert (
        history.conversation_count,
        history.turn_count,
        history.customer_turn_count,
        history.labelled_turn_count,
    ) == (2, 3, 2, 1)
