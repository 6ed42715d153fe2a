"""The agent console in real Chromium: an agent signs in, takes the oldest conversation,
reads the handoff card, replies (the customer's sandbox phone receives it) and resolves,
while a supervisor's page in a second browser context follows the queue live, without
reloading; and the four refusals (wrong password, expired session, missing CSRF token,
another role's page), each shown clearly and changing nothing. Draft mode (it shares this
module's server): a pricing answer approved in the Approvals view with a double click
reaches the customer's phone exactly once."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import select, update

from relaydesk.adapters.storage import drafts
from relaydesk.adapters.storage.tables import console_sessions, users
from relaydesk.services import conversations
from tests.browser.conftest import PASSWORD, LiveServer, new_context, screenshot, wait_for


def sign_in(page: Any, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def depth(page: Any, queue: str) -> str:
    return str(page.locator(f'[data-testid="depth-{queue}"]').inner_text()).strip()


def test_take_the_oldest_read_the_card_reply_resolve_and_the_queue_follows_live(
    chromium: Any, live_server: LiveServer
) -> None:
    server = live_server
    server.user("ana@example.com", name="Ana Agent")
    server.user("lead@example.com", "supervisor", name="Lea Lead")
    first = server.escalate("34600000101", "Carla")
    server.escalate("34600000102", "Dev")

    watcher_context = new_context(chromium)
    agent_context = new_context(chromium)
    try:
        watcher = watcher_context.new_page()
        sign_in(watcher, server.base_url, "lead@example.com")
        watcher.goto(f"{server.base_url}/console/queues")
        watcher.locator('#live-status[data-state="on"]').wait_for()
        assert depth(watcher, "general") == "2"
        watcher.evaluate("window.__notReloaded = true")

        agent = agent_context.new_page()
        sign_in(agent, server.base_url, "ana@example.com")
        agent.get_by_role("link", name="Queues").click()
        agent.get_by_role("button", name="Take the oldest in general").click()

        # The handoff card of the oldest conversation.
        agent.wait_for_url(re.compile(rf"/console/conversations/{first}\?done=taken"))
        assert agent.get_by_text("The conversation is yours.").is_visible()
        card = agent.locator('[data-live="card"]')
        assert "Carla" in card.inner_text()
        assert "assigned" in agent.get_by_test_id("status").inner_text()
        reason = agent.get_by_test_id("reason").inner_text()
        assert reason and "No trigger recorded" not in reason
        triggers = agent.get_by_role("list", name="Triggers").inner_text()
        assert "against threshold" in triggers
        assert agent.get_by_test_id("next-step").inner_text().strip()
        transcript = agent.get_by_role("list", name="Transcript").inner_text()
        assert "I want to talk to a real person please" in transcript
        screenshot(agent, "console-handoff-card")

        # The supervisor's queue page follows, without a reload.
        wait_for(lambda: depth(watcher, "general") == "1", "the watcher's queue depth to drop")
        assert watcher.evaluate("window.__notReloaded") is True
        screenshot(watcher, "console-queue-live")

        # Reply: the box holds the suggested draft; the agent edits it and sends.
        box = agent.locator("#reply-text")
        draft = box.input_value()
        assert draft.strip()
        reply = "Hi Carla, I'm Ana. I'm looking at your order now."
        box.fill(reply)
        agent.get_by_role("button", name="Send reply").click()
        agent.wait_for_url(re.compile(r"\?done=replied"))
        wait_for(
            lambda: any(
                b["direction"] == "out" and reply in str(b["content"])
                for b in server.phone("34600000101")
            ),
            "the reply on the customer's sandbox phone",
        )
        agent.get_by_role("list", name="Transcript").get_by_text(reply).wait_for()
        with server.container.db.read() as conn:
            stats = conversations.rewrite_stats(conn)
        assert stats["replies_with_draft"] == 1
        assert stats["rewritten"] == 1  # the edit is measured against the draft

        # Resolve.
        agent.get_by_role("button", name="Resolve").click()
        agent.wait_for_url(re.compile(r"\?done=resolved"))
        assert agent.get_by_test_id("status").inner_text() == "resolved"
        screenshot(agent, "console-resolved")

        # A new escalation reaches the supervisor's page live too.
        server.escalate("34600000103", "Eli")
        wait_for(lambda: depth(watcher, "general") == "2", "the new escalation on the watcher")
        assert watcher.evaluate("window.__notReloaded") is True
        watcher.get_by_role("link", name="Supervisor").click()
        watcher.get_by_role("heading", name="SLA risk").wait_for()
        assert "Ana Agent" in watcher.get_by_role("table", name="Agents").inner_text()
        screenshot(watcher, "console-supervisor")

        # The customer's phone shows the agent's reply.
        phone = agent_context.new_page()
        phone.goto(f"{server.base_url}/sandbox")
        phone.locator(".customer", has_text="Carla").click()
        phone.locator(".bubble.them", has_text=reply).wait_for()
        screenshot(phone, "console-reply-on-sandbox-phone")
    finally:
        agent_context.close()
        watcher_context.close()


def test_wrong_password_is_refused(chromium: Any, live_server: LiveServer) -> None:
    live_server.user("wrong@example.com")
    context = new_context(chromium)
    page = context.new_page()
    try:
        page.goto(f"{live_server.base_url}/console/login")
        page.get_by_label("Email").fill("wrong@example.com")
        page.get_by_label("Password").fill("not my password")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Sign in").click()
        assert answer.value.status == 401
        assert page.get_by_test_id("login-error").inner_text() == "Wrong email or password."
        screenshot(page, "console-refused-wrong-password")
        with live_server.container.db.read() as conn:
            sessions = conn.execute(
                select(console_sessions.c.id)
                .join(users, users.c.id == console_sessions.c.user_id)
                .where(users.c.email == "wrong@example.com")
            ).all()
        assert sessions == []
    finally:
        context.close()


def test_an_expired_session_asks_to_sign_in_again(chromium: Any, live_server: LiveServer) -> None:
    live_server.user("idle@example.com")
    context = new_context(chromium)
    try:
        page = context.new_page()
        sign_in(page, live_server.base_url, "idle@example.com")
        page.get_by_role("heading", name="My conversations").wait_for()
        with live_server.container.db.write() as conn:  # eight idle hours later
            conn.execute(
                update(console_sessions)
                .where(
                    console_sessions.c.user_id
                    == select(users.c.id)
                    .where(users.c.email == "idle@example.com")
                    .scalar_subquery()
                )
                .values(expires_at=console_sessions.c.created_at)
            )
        # The open page learns it at its next live update (here: a new escalation) and
        # goes to the sign-in page by itself.
        page.locator('#live-status[data-state="on"]').wait_for()
        live_server.escalate("34600000201", "Fay")
        page.wait_for_url(re.compile(r"/console/login\?reason=expired"))
        message = page.get_by_test_id("login-message").inner_text()
        assert message == "Your session expired. Sign in again."
        screenshot(page, "console-refused-expired-session")
        sign_in(page, live_server.base_url, "idle@example.com")
        page.get_by_role("heading", name="My conversations").wait_for()
    finally:
        context.close()


def test_a_form_without_its_csrf_token_is_refused(chromium: Any, live_server: LiveServer) -> None:
    live_server.user("forms@example.com")
    context = new_context(chromium)
    try:
        page = context.new_page()
        sign_in(page, live_server.base_url, "forms@example.com")
        page.get_by_role("heading", name="My conversations").wait_for()
        page.evaluate(
            "document.querySelectorAll('form.presence input[name=csrf_token]')"
            ".forEach(input => input.remove())"
        )
        with page.expect_response(re.compile(r"/console/presence$")) as answer:
            page.get_by_label("Presence").select_option("online")
        assert answer.value.status == 403
        refusal = page.get_by_test_id("refusal").inner_text()
        assert "security token is missing or wrong, so nothing was changed" in refusal
        screenshot(page, "console-refused-missing-csrf")
        with live_server.container.db.read() as conn:
            presence = conn.execute(
                select(users.c.presence).where(users.c.email == "forms@example.com")
            ).scalar_one()
        assert presence == "offline"
    finally:
        context.close()


def test_an_agent_opening_the_supervisor_page_is_refused(
    chromium: Any, live_server: LiveServer
) -> None:
    live_server.user("nosy@example.com")
    context = new_context(chromium)
    try:
        page = context.new_page()
        sign_in(page, live_server.base_url, "nosy@example.com")
        page.get_by_role("heading", name="My conversations").wait_for()
        assert page.get_by_role("link", name="Supervisor").count() == 0  # not offered
        answer = page.goto(f"{live_server.base_url}/console/supervisor")
        assert answer is not None
        assert answer.status == 403
        assert page.get_by_role("heading", name="Not for your role").is_visible()
        assert "signed in as an agent" in page.get_by_test_id("refusal").inner_text()
        screenshot(page, "console-refused-wrong-role")
    finally:
        context.close()


# -- draft mode ------------------------------------------------------------------------------

DRAFT_CUSTOMER = "34600000901"


def sent_to(server: LiveServer, wa_id: str) -> list[dict[str, Any]]:
    return [b for b in server.phone(wa_id) if b["direction"] == "out"]


def test_a_draft_approved_in_the_console_reaches_the_customer_once(
    chromium: Any, live_server: LiveServer
) -> None:
    server = live_server
    server.user("dee@example.com", name="Dee Agent")
    server.customer_says(DRAFT_CUSTOMER, "Elena", "how much does the oak side table cost")
    wait_for(lambda: bool(server.container.drafts.waiting()), "the bot's pricing draft")
    (draft,) = server.container.drafts.waiting()
    time.sleep(1.0)  # the worker would have sent a reply by now: a draft is not sent
    assert sent_to(server, DRAFT_CUSTOMER) == []

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

    wait_for(lambda: len(sent_to(server, DRAFT_CUSTOMER)) >= 1, "the customer's phone to get it")
    time.sleep(1.5)  # a second send, if there were one, would have arrived too
    (bubble,) = sent_to(server, DRAFT_CUSTOMER)
    assert bubble["kind"] == "interactive", bubble
    assert bubble["content"]["text"] == draft.text
    assert [b["title"] for b in bubble["content"]["buttons"]] == ["For my home", "For a business"]
    with server.container.db.read() as conn:
        stored = drafts.get(conn, draft.id)
    assert stored is not None and (stored.state, stored.unchanged) == ("sent", True)
