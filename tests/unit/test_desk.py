"""The pure helpers behind the handoff card and the rewrite rate."""

from __future__ import annotations

import pytest

from relaydesk.domain import desk


@pytest.mark.parametrize(
    ("turns", "direction", "current"),
    [
        ([], "unknown", None),
        ([(0.1, 0.0)], "steady", 0.1),
        ([(0.3, 0.0), (0.2, 0.1), (-0.4, 0.7)], "worsening", -0.4),  # fell by 0.7
        ([(-0.5, 0.6), (0.2, 0.0)], "improving", 0.2),
        ([(0.0, 0.0), (-0.1, 0.0)], "steady", -0.1),  # under the 0.2 step
    ],
)
def test_sentiment_trend(
    turns: list[tuple[float, float]], direction: str, current: float | None
) -> None:
    trend = desk.sentiment_trend(turns)
    assert (trend.direction, trend.current) == (direction, current)
    assert len(trend.values) == len(turns)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("+34 612 345 678", "+••••••••678"), ("06 12 34 56 78", "•••••••678"), ("12", "••")],
)
def test_mask_phone_keeps_the_last_three_digits(phone: str, masked: str) -> None:
    assert desk.mask_phone(phone) == masked


def test_next_step_leads_with_the_trigger_and_names_the_order() -> None:
    step = desk.next_step(
        ["frustration_trend", "human_request", "frustration_trend"],
        "Order status",
        {"order_numbers": ["NW12345"]},
    )
    assert step.startswith("The customer is getting more frustrated")
    assert "asked for a person" in step
    assert step.endswith("Topic: Order status. Look up order NW12345 before replying.")


def test_next_step_without_triggers_still_says_something() -> None:
    assert desk.next_step([], None, {}) == "Read the transcript and ask what the customer needs."


@pytest.mark.parametrize(
    ("name", "types", "intent", "orders", "expected"),
    [
        (
            "Ana Lopez",
            ["human_request"],
            None,
            (),
            "Hi Ana, thanks for waiting. This is the Shop team. How can I help you?",
        ),
        (
            None,
            ["negative_sentiment"],
            "Order status",
            ("123456",),
            "Hi, I'm sorry for the trouble. This is the Shop team. "
            "I'm looking into order 123456 for you now.",
        ),
        (
            "Bo",
            ["repeated_question"],
            "Returns",
            (),
            "Hi Bo, sorry you had to ask again. This is the Shop team. "
            "I can help you with returns.",
        ),
    ],
)
def test_suggested_reply(
    name: str | None, types: list[str], intent: str | None, orders: tuple[str, ...], expected: str
) -> None:
    assert desk.suggested_reply(name, "Shop", types, intent, orders) == expected


@pytest.mark.parametrize(
    ("language", "orders", "expected"),
    [
        (
            "es",
            ("123456",),
            "Hola, Ana. Siento mucho las molestias. Te escribe el equipo de Shop. "
            "Estoy revisando el pedido 123456 ahora mismo.",
        ),
        (
            "es_MX",
            (),
            "Hola, Ana. Siento mucho las molestias. Te escribe el equipo de Shop. "
            "¿En qué te puedo ayudar?",
        ),
        (
            "pt_BR",
            ("123456",),
            "Olá, Ana. Lamento muito o transtorno. Aqui é a equipe da Shop. "
            "Estou verificando o pedido 123456 agora mesmo.",
        ),
        (
            "de",
            (),
            "Hallo Ana. Es tut mir leid für die Unannehmlichkeiten. Hier schreibt das Team von "
            "Shop. Wie kann ich Ihnen helfen?",
        ),
        (
            "fr",
            (),
            "Bonjour Ana. Je suis désolé pour ce désagrément. Ici l'équipe Shop. "
            "Comment puis-je vous aider ?",
        ),
        (
            "it",
            (),
            "Ciao Ana. Mi dispiace molto per il disagio. Ti scrive il team di Shop. "
            "Come posso aiutarti?",
        ),
        (
            "id",
            (),
            "Halo Ana. Mohon maaf atas ketidaknyamanannya. Kami dari tim Shop. "
            "Ada yang bisa saya bantu?",
        ),
        (
            "nl",  # not one of the seven: English
            (),
            "Hi Ana, I'm sorry for the trouble. This is the Shop team. "
            "I can help you with returns.",
        ),
    ],
)
def test_suggested_reply_speaks_the_customers_language(
    language: str, orders: tuple[str, ...], expected: str
) -> None:
    reply = desk.suggested_reply("Ana", "Shop", ["frustration"], "Returns", orders, language)
    assert reply == expected


@pytest.mark.parametrize(
    ("draft", "final", "distance"),
    [
        ("Hello there", "Hello there", 0.0),
        ("Hello  there\n", "Hello there", 0.0),  # whitespace is not an edit
        ("abcd", "wxyz", 1.0),
        ("Hello there", "Hello there!", 0.0435),
    ],
)
def test_edit_distance(draft: str, final: str, distance: float) -> None:
    assert desk.edit_distance(draft, final) == distance


def test_rewrite_stats() -> None:
    stats = desk.rewrite_stats([("a", "a"), ("abcd", "wxyz"), ("hi", "hi"), ("x", "y")])
    assert stats.as_dict() == {
        "replies_with_draft": 4,
        "rewritten": 2,
        "rewrite_rate": 0.5,
        "mean_edit_distance": 0.5,
    }
    assert desk.rewrite_stats([]).rewrite_rate is None


@pytest.mark.parametrize(
    ("depth", "oldest_minutes", "reasons"),
    [
        (0, None, ()),  # nobody waits
        (25, 30, ()),  # at the thresholds, not over them
        (26, 5, ("depth",)),
        (3, 31, ("wait",)),
        (40, 90, ("depth", "wait")),
    ],
)
def test_a_queue_is_a_backlog_when_deeper_or_older_than_the_brief_allows(
    depth: int, oldest_minutes: int | None, reasons: tuple[str, ...]
) -> None:
    from datetime import timedelta

    oldest = None if oldest_minutes is None else timedelta(minutes=oldest_minutes)
    assert desk.backlog(depth, oldest, 25, timedelta(minutes=30)) == reasons
