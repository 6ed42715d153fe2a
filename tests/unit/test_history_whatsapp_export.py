"""WhatsApp "Export chat" files: iPhone and Android shapes in several locales, media,
notices, date order, and every line that cannot be read.

The fixtures in tests/fixtures/history/ are exports as phones write them, invisible
characters included: U+200E before iOS notices and media, U+202F before AM/PM, U+00A0
inside the Spanish "p. m.", CRLF line ends in the Android English one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from relaydesk.adapters.history.whatsapp_export import DateOrder, parse_export
from relaydesk.domain.history import Author, History, HistoryError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "history"
UTC_ZONE = ZoneInfo("UTC")
LRM, NNBSP = "\u200e", "\u202f"

Row = tuple[Author, datetime, str, bool, str]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def read_fixture(name: str, business: str, zone: str) -> History:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return parse_export(
        text,
        source=name,
        conversation_id=Path(name).stem,
        business_name=business,
        tz=ZoneInfo(zone),
    )


def rows(history: History) -> list[Row]:
    (conversation,) = history.conversations
    return [(t.author, t.at, t.text, t.media, t.source) for t in conversation.turns]


def parse(
    text: str,
    business: str | None = "Acme Shop",
    date_order: DateOrder | None = None,
    zone: ZoneInfo = UTC_ZONE,
) -> History:
    return parse_export(
        text,
        source="chat.txt",
        conversation_id="chat",
        business_name=business,
        tz=zone,
        date_order=date_order,
    )


def problems(text: str, business: str | None = "Acme Shop") -> list[str]:
    with pytest.raises(HistoryError) as caught:
        parse(text, business)
    return caught.value.problems


class TestExports:
    def test_ios_english_12_hour_with_media_and_multi_line_messages(self) -> None:
        """Sydney is UTC+11 in January, so the morning is the day before in UTC. The
        encryption notice and the deleted message are left out; the edit mark is cut."""
        history = read_fixture("ios_en.txt", "Acme Shop", "Australia/Sydney")
        assert history.conversations[0].id == "ios_en"
        assert rows(history) == [
            (
                "customer",
                utc(2026, 1, 13, 22, 2, 11),
                "Hi, my order 48213 arrived today\nbut the mug inside is broken.\n\n"
                "Can I get a new one?",
                False,
                "ios_en.txt:2",
            ),
            ("customer", utc(2026, 1, 13, 22, 2, 40), "", True, "ios_en.txt:6"),
            ("customer", utc(2026, 1, 13, 22, 2, 52), "", True, "ios_en.txt:7"),
            (
                "agent",
                utc(2026, 1, 13, 22, 5, 3),
                "Sorry about that, Ana! I'm sending a replacement today.",
                False,
                "ios_en.txt:8",
            ),
            ("customer", utc(2026, 1, 13, 22, 5, 30), "Thank you!", False, "ios_en.txt:9"),
            (
                "customer",
                utc(2026, 1, 14, 1, 16, 45),
                "One more thing: can you send the invoice too?",
                False,
                "ios_en.txt:11",
            ),
        ]
        assert history.notes == ()

    def test_android_english_24_hour_with_crlf_line_ends(self) -> None:
        """London is UTC+1 in June. A photo sent with a caption keeps the caption."""
        history = read_fixture("android_en.txt", "Acme Shop", "Europe/London")
        assert rows(history) == [
            (
                "customer",
                utc(2026, 6, 14, 17, 41),
                "Hello, where is my parcel? Order 55120",
                False,
                "android_en.txt:2",
            ),
            ("customer", utc(2026, 6, 14, 17, 41), "", True, "android_en.txt:3"),
            (
                "agent",
                utc(2026, 6, 14, 17, 44),
                "Hi Tom, it left our warehouse yesterday.\nTracking: https://track.example/55120",
                False,
                "android_en.txt:4",
            ),
            (
                "customer",
                utc(2026, 6, 15, 8, 10),
                "Still nothing. I want to speak to a person",
                False,
                "android_en.txt:6",
            ),
            (
                "agent",
                utc(2026, 6, 15, 9, 1),
                "Here is the proof of delivery",
                True,
                "android_en.txt:8",
            ),
        ]

    def test_android_german_dates_with_dots_that_do_not_show_their_order(self) -> None:
        """No day above 12: read day-first, and a note says so."""
        history = read_fixture("android_de.txt", "Acme Shop", "Europe/Berlin")
        assert rows(history) == [
            (
                "customer",
                utc(2026, 12, 5, 9, 11),
                "Hallo, ich möchte meine Bestellung 77120 stornieren.",
                False,
                "android_de.txt:2",
            ),
            ("customer", utc(2026, 12, 5, 9, 12), "", True, "android_de.txt:3"),
            (
                "agent",
                utc(2026, 12, 5, 9, 20),
                "Hallo Jana, die Bestellung ist storniert.\n"
                "Die Erstattung dauert 3\u20135 Werktage.",
                False,
                "android_de.txt:4",
            ),
            ("customer", utc(2026, 12, 5, 9, 21), "Danke!", False, "android_de.txt:6"),
        ]
        assert history.notes == (
            "android_de.txt: no day above 12 shows whether dates are day-first or "
            "month-first; read as day-first (dd.mm.yy), the default; if they are "
            "month-first, read the file with date order mdy",
        )

    def test_android_us_month_first_12_hour(self) -> None:
        """12/25 proves month-first; 12:03 AM is just after midnight, 12:30 PM midday."""
        history = read_fixture("android_us.txt", "Acme Shop", "America/New_York")
        assert rows(history) == [
            (
                "customer",
                utc(2026, 12, 26, 2, 5),
                "hey my gift card code doesnt work",
                False,
                "android_us.txt:2",
            ),
            ("customer", utc(2026, 12, 26, 2, 6), "it says invalid", False, "android_us.txt:3"),
            (
                "agent",
                utc(2026, 12, 26, 4, 58),
                "Hi Kevin, sorry for the wait! Can you send a photo of the card?",
                False,
                "android_us.txt:4",
            ),
            ("customer", utc(2026, 12, 26, 5, 3), "", True, "android_us.txt:5"),
            (
                "agent",
                utc(2026, 12, 26, 17, 30),
                "Thanks, I've issued a new code: GIFT-7731",
                False,
                "android_us.txt:6",
            ),
        ]
        assert history.notes == ()

    def test_android_spanish_p_m_with_no_break_spaces(self) -> None:
        history = read_fixture("android_es.txt", "Acme Shop", "Europe/Madrid")
        assert rows(history) == [
            (
                "customer",
                utc(2026, 7, 3, 14, 45),
                "Hola, quiero devolver unas zapatillas",
                False,
                "android_es.txt:2",
            ),
            ("customer", utc(2026, 7, 3, 14, 46), "", True, "android_es.txt:3"),
            (
                "agent",
                utc(2026, 7, 3, 15, 2),
                "Hola Lucía, claro. Te mando la etiqueta de devolución.",
                False,
                "android_es.txt:4",
            ),
            (
                "customer",
                utc(2026, 7, 4, 8, 15),
                "¿Cuándo me devolvéis el dinero?",
                False,
                "android_es.txt:5",
            ),
            ("agent", utc(2026, 7, 13, 10, 5), "El reembolso ya está hecho 👍", False,
             "android_es.txt:6"),
        ]  # fmt: skip

    def test_ios_brazilian_portuguese(self) -> None:
        history = read_fixture("ios_pt_br.txt", "Loja Acme", "America/Sao_Paulo")
        assert rows(history) == [
            (
                "customer",
                utc(2026, 3, 10, 17, 20, 5),
                "Oi, boa tarde! Meu pedido 90211 veio com o tamanho errado",
                False,
                "ios_pt_br.txt:2",
            ),
            ("customer", utc(2026, 3, 10, 17, 21, 30), "", True, "ios_pt_br.txt:3"),
            ("customer", utc(2026, 3, 10, 17, 22, 10), "", True, "ios_pt_br.txt:4"),
            (
                "agent",
                utc(2026, 3, 10, 17, 30),
                "Oi Carlos! Vamos trocar sem custo.\nQual tamanho você precisa?",
                False,
                "ios_pt_br.txt:5",
            ),
            (
                "customer",
                utc(2026, 3, 25, 11, 2, 41),
                "Chegou o novo, obrigado!",
                False,
                "ios_pt_br.txt:7",
            ),
        ]


class TestLineShapes:
    @pytest.mark.parametrize(
        ("stamp", "at"),
        [
            ("[20/01/2026, 21:05:09]", utc(2026, 1, 20, 21, 5, 9)),
            ("[20/01/26, 9:05:09 PM]", utc(2026, 1, 20, 21, 5, 9)),
            (f"[20/01/26, 9:05{NNBSP}pm]", utc(2026, 1, 20, 21, 5)),
            ("20/01/2026, 21:05 -", utc(2026, 1, 20, 21, 5)),
            ("20/01/26, 9:05 pm -", utc(2026, 1, 20, 21, 5)),
            ("20/01/26, 9:05 a. m. -", utc(2026, 1, 20, 9, 5)),
            ("20/01/26, 12:05 a.m. -", utc(2026, 1, 20, 0, 5)),
            ("20.01.26, 21:05 -", utc(2026, 1, 20, 21, 5)),
            ("20-01-2026 21:05 -", utc(2026, 1, 20, 21, 5)),
            ("20/01/26, 21:05:30 \u2013", utc(2026, 1, 20, 21, 5, 30)),
        ],
    )
    def test_date_and_time_shapes(self, stamp: str, at: datetime) -> None:
        history = parse(f"{stamp} Ana: hi\n{stamp} Acme Shop: hello\n")
        assert [(t.author, t.at, t.text) for t in history.conversations[0].turns] == [
            ("customer", at, "hi"),
            ("agent", at, "hello"),
        ]

    @pytest.mark.parametrize(
        "line",
        [
            "<Media omitted>",
            "<Multimedia omitido>",
            "<Medien ausgeschlossen>",
            "<Mídia oculta>",
            f"{LRM}image omitted",
            f"{LRM}video omitted",
            f"{LRM}audio omitted",
            f"{LRM}sticker omitted",
            f"{LRM}GIF omitted",
            f"{LRM}document omitted",
            f"{LRM}invoice-8812.pdf • {LRM}2 pages {LRM}document omitted",
            f"{LRM}Bild weggelassen",
            f"{LRM}imagen omitida",
            f"{LRM}<attached: 00000012-PHOTO-2026-01-05-10-11-12.jpg>",
            f"{LRM}<attached: 00000013-AUDIO-2026-01-05-10-11-40.opus>",
            "PTT-20260105-WA0002.opus (file attached)",
            "IMG-20260105-WA0001.jpg (archivo adjunto)",
        ],
    )
    def test_media_become_media_turns(self, line: str) -> None:
        (turn,) = parse(f"05/01/26, 10:11 - Acme Shop: {line}\n").conversations[0].turns
        assert (turn.author, turn.text, turn.media) == ("agent", "", True)

    def test_notices_and_deleted_messages_are_left_out(self) -> None:
        text = (
            "05/01/26, 10:00 - Messages and calls are end-to-end encrypted. No one outside of "
            "this chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n"
            '05/01/26, 10:00 - Ana changed the subject from "Order 1" to "Order 2"\n'
            "05/01/26, 10:00 - Your security code with Ana changed. Tap to learn more.\n"
            "05/01/26, 10:01 - Ana: This message was deleted\n"
            "05/01/26, 10:01 - Ana: Se eliminó este mensaje.\n"
            f"05/01/26, 10:01 - Ana: {LRM}Missed voice call\n"
            "05/01/26, 10:02 - Ana: where is my order?\n"
            "05/01/26, 10:03 - Acme Shop: You deleted this message\n"
        )
        assert [(t.author, t.text, t.source) for t in parse(text).conversations[0].turns] == [
            ("customer", "where is my order?", "chat.txt:7")
        ]

    def test_a_line_that_looks_like_a_date_inside_a_message_continues_it(self) -> None:
        text = (
            "05/01/26, 10:02 - Ana: my orders:\n"
            "05/01/26 shoes\n"
            "  [06/01/26] socks\n"
            "05/01/26, 10:03 - Acme Shop: thanks\n"
        )
        assert parse(text).conversations[0].turns[0].text == (
            "my orders:\n05/01/26 shoes\n  [06/01/26] socks"
        )

    def test_names_match_without_case_spaces_or_direction_marks(self) -> None:
        """Phone numbers come wrapped in U+202A ... U+202C; the business is matched without
        case or extra spaces."""
        text = (
            "05/01/26, 10:02 - \u202a+34 612 34 56 78\u202c: hola\n"
            "05/01/26, 10:03 - Acme  Shop: hola, ¿en qué te ayudo?\n"
        )
        turns = parse(text, business="acme shop").conversations[0].turns
        assert [t.author for t in turns] == ["customer", "agent"]

    def test_messages_in_the_same_minute_keep_their_order(self) -> None:
        text = "".join(f"05/01/26, 10:02 - Ana: {n}\n" for n in ("one", "two", "three", "four"))
        text += "05/01/26, 10:02 - Acme Shop: ok\n"
        turns = parse(text).conversations[0].turns
        assert [t.text for t in turns] == ["one", "two", "three", "four", "ok"]

    def test_a_chat_where_only_the_business_writes_is_all_agent_turns(self) -> None:
        turns = parse("05/01/26, 10:02 - Acme Shop: your order shipped\n").conversations[0].turns
        assert [(t.author, t.text) for t in turns] == [("agent", "your order shipped")]


class TestDateOrder:
    AMBIGUOUS = "03/04/26, 10:00 - Ana: hi\n03/04/26, 10:01 - Acme Shop: hello\n"

    @pytest.mark.parametrize(
        ("asked", "at", "note"),
        [
            (
                None,
                utc(2026, 4, 3, 10, 0),
                "chat.txt: no day above 12 shows whether dates are day-first or month-first; "
                "read as day-first (dd/mm/yy), the default; if they are month-first, read the "
                "file with date order mdy",
            ),
            (
                "dmy",
                utc(2026, 4, 3, 10, 0),
                "chat.txt: no day above 12 shows whether dates are day-first or month-first; "
                "read as day-first (dd/mm/yy), as asked; if they are month-first, read the "
                "file with date order mdy",
            ),
            (
                "mdy",
                utc(2026, 3, 4, 10, 0),
                "chat.txt: no day above 12 shows whether dates are day-first or month-first; "
                "read as month-first (mm/dd/yy), as asked; if they are day-first, read the "
                "file with date order dmy",
            ),
        ],
    )
    def test_the_callers_order_when_the_file_does_not_show_one(
        self, asked: DateOrder | None, at: datetime, note: str
    ) -> None:
        history = parse(self.AMBIGUOUS, date_order=asked)
        assert history.conversations[0].started_at == at
        assert history.notes == (note,)

    @pytest.mark.parametrize("asked", [None, "dmy", "mdy"])
    def test_the_file_wins_over_the_callers_order(self, asked: DateOrder | None) -> None:
        """One date past the 12th settles the order for every line, earlier ones too."""
        text = self.AMBIGUOUS + "04/13/26, 10:00 - Ana: still waiting\n"
        history = parse(text, date_order=asked)
        turns = history.conversations[0].turns
        assert [t.at for t in turns] == [
            utc(2026, 3, 4, 10, 0),
            utc(2026, 3, 4, 10, 1),
            utc(2026, 4, 13, 10, 0),
        ]
        assert history.notes == ()


class TestProblems:
    def test_a_file_with_both_date_orders_is_refused(self) -> None:
        text = (
            "25/12/26, 10:00 - Ana: hi\n"
            "12/01/26, 10:00 - Acme Shop: hello\n"
            "12/25/26, 10:01 - Ana: again\n"
        )
        assert problems(text) == [
            'chat.txt:3: date "12/25/26" is month-first, but line 1 ("25/12/26") is '
            "day-first; one export has one date order: is this two exports joined together?"
        ]

    def test_impossible_dates_and_times(self) -> None:
        text = (
            "31/31/26, 10:00 - Ana: a\n"
            "30/02/26, 10:00 - Ana: b\n"
            "15/01/26, 25:10 - Ana: c\n"
            "15/01/26, 10:75 - Ana: d\n"
            "15/01/26, 13:10 PM - Ana: e\n"
            "15/01/26, 0:10 am - Ana: f\n"
            "15/01/26, 10:10 - Acme Shop: g\n"
        )
        assert problems(text) == [
            'chat.txt:1: date "31/31/26" is not a date: neither 31 nor 31 can be a month; '
            "fix the line",
            'chat.txt:2: date "30/02/26" does not exist (read day-first, dd/mm/yy: day is out '
            "of range for month); fix the line",
            'chat.txt:3: time "25:10" is not a time (hour must be in 0..23); fix the line',
            'chat.txt:4: time "10:75" is not a time (minute must be in 0..59); fix the line',
            'chat.txt:5: time "13:10 PM" is not a time (a 12-hour clock runs from 1 to 12); '
            "fix the line",
            'chat.txt:6: time "0:10 am" is not a time (a 12-hour clock runs from 1 to 12); '
            "fix the line",
        ]

    def test_the_business_name_is_needed(self) -> None:
        assert problems("05/01/26, 10:02 - Ana: hi\n", business=None) == [
            "chat.txt: no business name given; it is needed to tell the business's messages "
            "from the customer's in a WhatsApp export"
        ]

    def test_the_business_must_be_in_the_chat(self) -> None:
        text = "05/01/26, 10:02 - Ana García: hi\n05/01/26, 10:03 - Acme Shop ES: hello\n"
        assert problems(text, business="Acme Shop") == [
            'chat.txt: business name "Acme Shop" is not one of the people in this chat: '
            '"Ana García", "Acme Shop ES"; give the name exactly as the export writes it'
        ]

    def test_a_group_chat_is_refused(self) -> None:
        text = (
            "05/01/26, 10:02 - Ana: hi\n"
            "05/01/26, 10:03 - Acme Shop: hello\n"
            "05/01/26, 10:04 - Bea: me too\n"
            "05/01/26, 10:05 - Carl: and me\n"
        )
        assert problems(text) == [
            'chat.txt:3: "Bea" writes here besides "Ana" and the business: a group chat is '
            "not one customer's conversation; export one-to-one chats only"
        ]

    def test_lines_before_the_first_message(self) -> None:
        text = (
            "WhatsApp Chat with Ana\n\n05/01/26, 10:02 - Ana: hi\n05/01/26, 10:03 - Acme Shop: ok\n"
        )
        assert problems(text) == [
            'chat.txt:1: "WhatsApp Chat with Ana" does not start with a date and time, and no '
            "message comes before it; a WhatsApp export starts with a dated line"
        ]

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            (
                "",
                "chat.txt: empty file; an export's messages look like \"[05/01/26, 10:11:12] "
                'Name: text" (iPhone) or "05/01/26, 10:11 - Name: text" (Android)',
            ),
            (
                "conversation_id,time,author,text\nc1,2026-01-05T10:00:00Z,customer,hi\n",
                "chat.txt: no line starts with a WhatsApp date and time; an export's messages "
                'look like "[05/01/26, 10:11:12] Name: text" (iPhone) or "05/01/26, 10:11 - '
                'Name: text" (Android)',
            ),
            (
                "05/01/26, 10:00 - Messages and calls are end-to-end encrypted.\n",
                "chat.txt: no messages, only WhatsApp's notices",
            ),
        ],
    )
    def test_files_without_messages(self, text: str, problem: str) -> None:
        assert problems(text) == [problem]

    def test_every_problem_at_once(self) -> None:
        """Problems of different kinds are all reported, in line order, business last."""
        text = "intro\n30/02/26, 10:00 - Ana: a\n31/31/26, 10:00 - Ana: b\n"
        assert problems(text, business=None) == [
            'chat.txt:1: "intro" does not start with a date and time, and no message comes '
            "before it; a WhatsApp export starts with a dated line",
            'chat.txt:2: date "30/02/26" does not exist (read day-first, dd/mm/yy: day is out '
            "of range for month); fix the line",
            'chat.txt:3: date "31/31/26" is not a date: neither 31 nor 31 can be a month; '
            "fix the line",
            "chat.txt: no business name given; it is needed to tell the business's messages "
            "from the customer's in a WhatsApp export",
        ]
