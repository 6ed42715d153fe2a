"""Draft mode in real Chromium: a customer asks a price on the sandbox phone, the bot's
answer waits in the Approvals view, an agent double-clicks Send, and the customer's
phone receives exactly one message: the bot's answer with its buttons."""

from __future__ import annotations

import time
from typing import Any

from relaydesk.adapters.storage import drafts
from tests.browser.conftest import LiveServer, new_context, screenshot, wait_for
from tests.browser.test_console_browser import sign_in

CUSTOMER = "34600000901"


def sent_to(server: LiveServer, wa_id: str) -> list[dict[str, Any]]:
    return [b for b in server.phone(wa_id) if b["direction"] == "out"]


def test_a_draft_approved_in_the_console_reaches_the_customer_once(
    chromium: Any, live_server: LiveServer
) -> None:
    server = live_server
    server.user("dee@example.com", name="Dee Agent")
    server.customer_says(CUSTOMER, "Elena", "how much does the oak side table cost")
    wait_for(lambda: bool(server.container.drafts.waiting()), "the bot's pricing draft")
    (draft,) = server.container.drafts.waiting()
    time.sleep(1.0)  # the worker would have sent a reply by now: a draft is not sent
    assert sent_to(server, CUSTOMER) == []

    context = new_context(chromium)
    try:
        page = context.new_page()
        sign_in(page, server.base_url, "dee@example.com")
        page.get_by_role("link", name="Approvals").click()
        card = page.get_by_test_id(f"draft-{draft.id}")
        assert "Elena" in card.inner_text() and "pricing" in card.inner_text()
        assert "how much does the oak side table cost" in card.inner_text()
        box = card.get_by_label("The bot's answer (send it as it is, or edit it first)")
        assert box.input_value() == draft.text
        screenshot(page, "console-approvals")
        card.get_by_role("button", name="Send").dblclick()  # a double click sends once
        page.get_by_text("Draft sent; the customer receives it once.").wait_for()
        assert page.get_by_text("No drafts wait for approval.").is_visible()
    finally:
        context.close()

    wait_for(lambda: len(sent_to(server, CUSTOMER)) >= 1, "the customer's phone to get it")
    time.sleep(1.5)  # a second send, if there were one, would have arrived too
    (bubble,) = sent_to(server, CUSTOMER)
    assert bubble["kind"] == "interactive", bubble
    assert bubble["content"]["text"] == draft.text
    assert [b["title"] for b in bubble["content"]["buttons"]] == ["For my home", "For a business"]
    with server.container.db.read() as conn:
        stored = drafts.get(conn, draft.id)
    assert stored is not None and (stored.state, stored.unchanged) == ("sent", True)
