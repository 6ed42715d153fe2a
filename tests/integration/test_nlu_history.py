"""Labelled history (RELAYDESK_NLU_HISTORY) joins the brief's examples in training."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF, load_settings
from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.nlu.datasets import DatasetError
from relaydesk.services.decider import BriefDecider

PHRASE = "zorbl flimwack quxxle"  # words no brief example or intent name uses


def message(text: str) -> InboundMessage:
    return InboundMessage(
        wamid="wamid.1",
        phone_number_id="PN",
        sender=Sender(wa_id="1"),
        sent_at=datetime.now(UTC),
        type="text",
        text=text,
    )


def test_history_teaches_phrases_the_brief_lacks(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    rows = [f"{PHRASE} {n},order_status" for n in range(8)]
    history.write_text("text,label\n" + "\n".join(rows) + "\n")
    brief = load_brief(EXAMPLE_BRIEF)
    without = BriefDecider.from_brief(brief).understand_many([message(PHRASE)])[0]
    with_history = BriefDecider.from_brief(brief, history).understand_many([message(PHRASE)])[0]
    assert without.intent != "order_status" or without.out_of_scope
    assert with_history.intent == "order_status"
    assert not with_history.out_of_scope


def test_history_with_unknown_labels_is_refused(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    history.write_text("text,label\nwhere is it,where_is_it\n")
    with pytest.raises(DatasetError, match="where_is_it"):
        BriefDecider.from_brief(load_brief(EXAMPLE_BRIEF), history)


def test_bad_history_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    from relaydesk.bootstrap import StartupError, build

    settings = load_settings(
        {
            "RELAYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "RELAYDESK_NLU_HISTORY": str(tmp_path / "missing.csv"),
        }
    )
    container = build(settings, base_url="http://testserver")
    try:
        with pytest.raises(StartupError, match="RELAYDESK_NLU_HISTORY"):
            container.decisions  # noqa: B018 - building it is the test
    finally:
        container.db.dispose()
