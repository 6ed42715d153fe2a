"""The agent console through HTTP on both databases: signing in and the refusals (wrong
password, expired session, missing or wrong CSRF token, another role's page), each
changing nothing; and every action posted from the console taking effect."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from relaydesk.adapters.storage.tables import console_sessions, notes, users
from relaydesk.bootstrap import build
from relaydesk.config import Settings
from relaydesk.services import accounts, conversations
from relaydesk.testing import GraphServer
from tests.conftest import Clock, Harness, text_webhook

PASSWORD = "correct horse battery"
CUSTOMER = "34600000321"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Console:
    harness: Harness
    transport: httpx.AsyncBaseTransport
    clock: Clock

    def browser(self) -> httpx.AsyncClient:
        """A client with its own cookie jar: one person's browser."""
        return httpx.AsyncClient(transport=self.transport, base_url="http://testserver")

    def user(
        self,
        email: str,
        role: str = "agent",
        *,
        skills: tuple[str, ...] = ("orders", "payments", "refunds"),
        languages: tuple[str, ...] = ("en", "es"),
    ) -> int:
        with self.harness.container.db.write() as conn:
            return accounts.create_user(
                conn,
                email=email,
                name=email.split("@")[0].capitalize(),
                role=role,
                password=PASSWORD,
                now=self.clock(),
                skills=skills,
                languages=languages,
                capacity=3,
            ).id

    def count(self, table: object) -> int:
        with self.harness.container.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]

    def card(self, conversation_id: int) -> dict[str, object]:
        container = self.harness.container
        with container.db.read() as conn:
            card = conversations.handoff_card(conn, conversation_id, container.brief, self.clock())
        assert card is not None
        return card

    async def escalate(self, wa_id: str = CUSTOMER, name: str = "Ana") -> int:
        body = text_webhook(
            body="I want to talk to a real person", wa_id=wa_id, name=name, timestamp=self.clock()
        )
        assert (await self.harness.post_webhook(body)).status_code == 200
        with self.harness.container.db.read() as conn:
            found = conversations.find_for_customer(conn, wa_id)
        assert found[0]["status"] == "queued"
        return int(found[0]["id"])


@pytest.fixture
async def console(
    make_settings: Callable[..., Settings], graph: GraphServer, clock: Clock
) -> AsyncIterator[Console]:
    from relaydesk.app.http.main import create_app

    container = build(
        make_settings(whatsapp_graph_url=graph.url), base_url="http://testserver", migrate=True
    )
    container.worker._clock = clock
    app = create_app(container, run_worker=False, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Console(Harness(container, client, graph), transport, clock)


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, f"no csrf_token field in the page:\n{page.text[:500]}"
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form)},
    )


async def signed_in(console: Console, email: str, role: str = "agent") -> httpx.AsyncClient:
    console.user(email, role)
    client = console.browser()
    response = await sign_in(client, email)
    assert response.status_code == 303, response.text
    return client


async def post(
    client: httpx.AsyncClient, path: str, data: dict[str, str | list[str]] | None = None
) -> httpx.Response:
    """A console form POST with the session's CSRF token, as the page would send it."""
    page = await client.get("/console")
    assert page.status_code == 200, page.text
    return await client.post(path, data={"csrf_token": csrf_of(page), **(data or {})})


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, f"{response.status_code}: {response.text[:400]}"
    return response.headers["location"]


# -- signing in -------------------------------------------------------------------------------


async def test_sign_in_shows_my_conversations_and_sign_out_ends_the_session(
    console: Console,
) -> None:
    console.user("ana@example.com")
    client = console.browser()
    anonymous = await client.get("/console")
    assert location(anonymous) == "/console/login?reason=required"

    response = await sign_in(client, "ana@example.com")
    assert location(response) == "/console"
    cookie = response.headers["set-cookie"]
    assert "relaydesk_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    with console.harness.container.db.read() as conn:
        stored = conn.execute(select(console_sessions.c.token_hash)).scalars().all()
    token = client.cookies["relaydesk_session"]
    assert token not in stored  # only its hash is kept
    assert len(stored) == 1

    page = await client.get("/console")
    assert page.status_code == 200
    assert "My conversations" in page.text
    assert "Ana" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"

    out = await post(client, "/console/logout")
    assert location(out) == "/console/login?reason=signed_out"
    assert console.count(console_sessions) == 0
    again = await client.get("/console")
    assert again.status_code == 303
    assert "You signed out." in (await client.get(location(out))).text


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ana@example.com", "not the password"),  # wrong password
        ("nobody@example.com", PASSWORD),  # unknown email: the same answer
    ],
)
async def test_wrong_email_or_password_is_refused_with_one_message(
    console: Console, email: str, password: str
) -> None:
    console.user("ana@example.com")
    client = console.browser()
    response = await sign_in(client, email, password)
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert "relaydesk_session" not in client.cookies
    assert console.count(console_sessions) == 0


async def test_repeated_wrong_passwords_are_throttled_then_allowed_again(
    console: Console, clock: Clock
) -> None:
    console.user("ana@example.com")
    client = console.browser()
    for _ in range(5):
        assert (await sign_in(client, "ana@example.com", "not the password")).status_code == 401
    throttled = await sign_in(client, "ANA@example.com", PASSWORD)  # even the right one
    assert throttled.status_code == 429
    assert "Too many failed sign-ins for this account. Try again in 15 minutes" in throttled.text
    assert int(throttled.headers["Retry-After"]) == 15 * 60
    assert console.count(console_sessions) == 0
    other = console.browser()  # an unknown account is throttled alike: nothing is revealed
    for _ in range(5):
        await sign_in(other, "nobody@example.com", "guess")
    assert (await sign_in(other, "nobody@example.com", "guess")).status_code == 429

    clock.advance(minutes=15)
    assert (await sign_in(client, "ana@example.com", PASSWORD)).status_code == 303
    assert console.count(console_sessions) == 1


async def test_sign_in_form_needs_its_own_csrf_token(console: Console) -> None:
    console.user("ana@example.com")
    client = console.browser()
    response = await client.post(
        "/console/login", data={"email": "ana@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "came from another site" in response.text
    assert console.count(console_sessions) == 0


async def test_an_expired_session_sends_you_to_sign_in_and_changes_nothing(
    console: Console, clock: Clock
) -> None:
    client = await signed_in(console, "ana@example.com")
    page = await client.get("/console")
    token = csrf_of(page)

    clock.advance(hours=7)
    assert (await client.get("/console")).status_code == 200  # activity keeps it alive
    clock.advance(hours=7)
    assert (await client.get("/console")).status_code == 200
    clock.advance(hours=8, seconds=1)  # idle for longer than 8 hours

    refused = await client.post(
        "/console/presence", data={"csrf_token": token, "presence": "online"}
    )
    assert location(refused) == "/console/login?reason=expired"
    with console.harness.container.db.read() as conn:
        presence = conn.execute(select(users.c.presence)).scalar_one()
    assert presence == "offline"
    assert console.count(console_sessions) == 1  # dead; purged at the next sign-in

    page = await client.get("/console/queues")
    assert location(page) == "/console/login?reason=required&next=/console/queues"
    login = await client.get("/console/login?reason=expired")
    assert "Your session expired. Sign in again." in login.text


async def test_a_live_region_refresh_after_expiry_says_where_to_sign_in(
    console: Console, clock: Clock
) -> None:
    client = await signed_in(console, "ana@example.com")
    clock.advance(hours=9)
    response = await client.get("/console/queues", headers={"X-Partial": "1"})
    assert response.status_code == 401
    assert response.headers["x-console-login"].startswith("/console/login?reason=expired")


@pytest.mark.parametrize("token", [None, "forged-token"])
async def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(
    console: Console, token: str | None
) -> None:
    client = await signed_in(console, "ana@example.com")
    data = {"presence": "online"} | ({"csrf_token": token} if token else {})
    refused = await client.post("/console/presence", data=data)
    assert refused.status_code == 403
    assert "security token is missing or wrong, so nothing was changed" in refused.text
    with console.harness.container.db.read() as conn:
        assert conn.execute(select(users.c.presence)).scalar_one() == "offline"


async def test_the_csrf_token_may_come_as_a_header(console: Console) -> None:
    client = await signed_in(console, "ana@example.com")
    token = csrf_of(await client.get("/console"))
    done = await client.post(
        "/console/presence", data={"presence": "away"}, headers={"X-CSRF-Token": token}
    )
    assert location(done) == "/console?done=presence"
    with console.harness.container.db.read() as conn:
        assert conn.execute(select(users.c.presence)).scalar_one() == "away"


@pytest.mark.parametrize(
    "path", ["/console/supervisor", "/console/admin/users", "/console/admin/users/new"]
)
async def test_an_agent_opening_another_roles_page_gets_a_clear_403(
    console: Console, path: str
) -> None:
    client = await signed_in(console, "ana@example.com")
    page = await client.get(path)
    assert page.status_code == 403
    assert "Not for your role" in page.text
    assert "You are signed in as an agent" in page.text


async def test_an_agent_cannot_create_users_and_nothing_is_created(console: Console) -> None:
    client = await signed_in(console, "ana@example.com")
    before = console.count(users)
    refused = await post(
        client,
        "/console/admin/users",
        {"email": "eve@example.com", "name": "Eve", "role": "admin", "capacity": "1"},
    )
    assert refused.status_code == 403
    assert console.count(users) == before


async def test_a_supervisor_sees_the_supervisor_page_but_not_user_admin(
    console: Console,
) -> None:
    client = await signed_in(console, "lead@example.com", "supervisor")
    page = await client.get("/console/supervisor")
    assert page.status_code == 200
    for heading in ("Queues", "SLA risk", "Agents", "Alerts"):
        assert heading in page.text
    assert (await client.get("/console/admin/users")).status_code == 403


async def test_the_supervisor_page_lists_sla_risk_and_alerts(
    console: Console, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Madrid
    lead = await signed_in(console, "lead@example.com", "supervisor")
    conversation_id = await console.escalate()
    calm = await lead.get("/console/supervisor")
    assert "No conversation is near or past its SLA." in calm.text
    assert 'data-testid="backlog-' not in calm.text
    clock.advance(hours=2)  # the first response was due within one business hour
    console.harness.container.timers.run(clock())
    page = await lead.get("/console/supervisor")
    # waiting for 2 hours, past the brief's backlog_alert_wait of 30 minutes
    badge = page.text.split('data-testid="backlog-')[1].split("</span>")[0]
    assert "waiting" not in badge and "the oldest for 2h" in badge and "Backlog" in badge
    risk = page.text.split('data-live="risk"')[1].split("</section>")[0]
    assert f"/console/conversations/{conversation_id}" in risk
    assert "first response: breached" in risk
    alerts = page.text.split('data-live="alerts"')[1].split("</section>")[0]
    assert f"conversation #{conversation_id}" in alerts


async def test_an_agent_cannot_open_someone_elses_conversation(console: Console) -> None:
    lead = await signed_in(console, "lead@example.com", "supervisor")
    agent = await signed_in(console, "ana@example.com")
    conversation_id = await console.escalate()
    taken = await post(lead, f"/console/conversations/{conversation_id}/take")
    assert location(taken).endswith("?done=taken")
    page = await agent.get(f"/console/conversations/{conversation_id}")
    assert page.status_code == 403
    assert "assigned to Lead" in page.text
    missing = await agent.get("/console/conversations/999999")
    assert missing.status_code == 404


# -- the work ---------------------------------------------------------------------------------


async def test_take_the_oldest_read_the_card_reply_note_feedback_and_resolve(
    console: Console,
) -> None:
    client = await signed_in(console, "ana@example.com")
    first = await console.escalate(CUSTOMER, "Ana")
    console.clock.advance(seconds=5)
    await console.escalate("34600000999", "Bo")
    queues = await client.get("/console/queues")
    assert queues.status_code == 200
    assert 'data-testid="depth-general">2<' in queues.text
    tokens = set(_CSRF.findall(queues.text))  # every form on the page carries the token
    assert len(tokens) == 1
    assert tokens.pop() == csrf_of(await client.get("/console"))

    taken = await post(client, "/console/queues/take", {"queue": "general"})
    assert location(taken) == f"/console/conversations/{first}?done=taken"
    page = await client.get(location(taken))
    assert page.status_code == 200
    assert "The conversation is yours." in page.text
    assert 'data-testid="reason"' in page.text
    assert "human request" in page.text  # the trigger, with its score and threshold
    assert "against threshold" in page.text
    card = console.card(first)
    assert card["status"] == "assigned"
    suggested = str(card["suggested_reply"])
    assert suggested and suggested in html.unescape(page.text)  # the prefilled draft
    assert ">Checking your order</button>" in page.text  # the brief's canned responses

    mine = await client.get("/console")
    assert f"/console/conversations/{first}" in mine.text

    sent = await post(
        client,
        f"/console/conversations/{first}/reply",
        {"text": "Hi Ana, I'm on it.", "draft": suggested},
    )
    assert location(sent).endswith("?done=replied")
    await console.harness.drain()
    to_customer = [
        r.body for r in console.harness.graph.state.accepted() if r.body.get("to") == CUSTOMER
    ]
    assert to_customer[-1]["text"]["body"] == "Hi Ana, I'm on it."
    agent_lines = [m for m in console.card(first)["transcript"] if m["author_role"] == "agent"]  # type: ignore[attr-defined]
    assert agent_lines[-1]["text"] == "Hi Ana, I'm on it."

    noted = await post(client, f"/console/conversations/{first}/note", {"body": "VIP, be quick"})
    assert location(noted).endswith("?done=noted")
    assert console.count(notes) == 1

    rated = await post(
        client,
        f"/console/conversations/{first}/feedback",
        {"verdict": "too_late", "tags": ["unclear_intent", "weak_follow_up"]},
    )
    assert location(rated).endswith("?done=feedback")
    assert console.card(first)["feedback"]["verdict"] == "too_late"  # type: ignore[index]

    resolved = await post(client, f"/console/conversations/{first}/resolve")
    assert location(resolved).endswith("?done=resolved")
    assert console.card(first)["status"] == "resolved"
    after = await client.get(f"/console/conversations/{first}")
    assert "This conversation is resolved." in after.text


async def test_transfer_escalate_and_hand_back(console: Console) -> None:
    lead = await signed_in(console, "lead@example.com", "supervisor")
    agent = await signed_in(console, "ana@example.com")
    with console.harness.container.db.read() as conn:
        ana = accounts.find_user(conn, "ana@example.com").id
    conversation_id = await console.escalate()
    page = f"/console/conversations/{conversation_id}"

    moved = await post(lead, f"{page}/transfer", {"target": "queue:billing"})
    assert location(moved).endswith("?done=transferred")
    assert console.card(conversation_id)["queue"] == "billing"

    given = await post(lead, f"{page}/transfer", {"target": f"agent:{ana}"})
    assert location(given).endswith("?done=transferred")
    assert console.card(conversation_id)["assignee"]["id"] == ana  # type: ignore[index]
    assert (await agent.get(page)).status_code == 200

    up = await post(agent, f"{page}/escalate")
    assert location(up).endswith("?done=escalated")
    card = console.card(conversation_id)
    assert card["status"] == "queued"
    assert card["queue"] != "billing"

    bad = await post(lead, f"{page}/transfer", {"target": "somewhere"})
    assert bad.status_code == 422
    assert "pick one from the list" in bad.text

    back = await post(lead, f"{page}/handback")
    assert location(back).endswith("?done=handed_back")
    assert console.card(conversation_id)["status"] == "bot"


async def test_a_refused_action_says_why_and_changes_nothing(console: Console) -> None:
    agent = await signed_in(console, "ana@example.com")
    conversation_id = await console.escalate()
    refused = await post(
        agent, f"/console/conversations/{conversation_id}/reply", {"text": "hello"}
    )
    assert refused.status_code == 403
    assert "not assigned to you" in refused.text
    assert console.card(conversation_id)["status"] == "queued"
    empty = await post(agent, "/console/queues/take", {"queue": "technical"})
    assert location(empty) == "/console/queues?done=empty_queue"
    unknown = await post(agent, "/console/queues/take", {"queue": "nowhere"})
    assert unknown.status_code == 422


async def test_presence_switch_and_assignment(console: Console) -> None:
    agent = await signed_in(console, "ana@example.com")
    conversation_id = await console.escalate()
    online = await post(agent, "/console/presence", {"presence": "online", "next": "/console"})
    assert location(online) == "/console?done=presence"
    assert console.card(conversation_id)["status"] == "assigned"  # routing gave it to Ana
    bad = await post(agent, "/console/presence", {"presence": "busy"})
    assert bad.status_code == 422
    assert "busy" in bad.text


async def test_partial_requests_return_only_the_live_regions(console: Console) -> None:
    client = await signed_in(console, "ana@example.com")
    conversation_id = await console.escalate()
    for path in ("/console", "/console/queues", f"/console/conversations/{conversation_id}"):
        part = await client.get(path, headers={"X-Partial": "1"})
        assert part.status_code == 200
        assert "<html" not in part.text
        assert "data-live=" in part.text
        assert "<textarea" not in part.text  # what the agent is typing is never replaced


async def test_admin_creates_and_edits_users(console: Console) -> None:
    admin = await signed_in(console, "root@example.com", "admin")
    created = await post(
        admin,
        "/console/admin/users",
        {
            "email": "new@example.com",
            "name": "New Agent",
            "role": "agent",
            "skills": "orders, refunds",
            "languages": "en, es",
            "capacity": "4",
            "password": "a long enough password",
        },
    )
    path = location(created).split("?")[0]
    with console.harness.container.db.read() as conn:
        account = accounts.find_user(conn, "new@example.com")
    assert account.skills == ("orders", "refunds")
    assert account.capacity == 4
    newcomer = console.browser()
    assert (await sign_in(newcomer, "new@example.com", "a long enough password")).status_code == 303

    bad = await post(admin, path, {"name": "New Agent", "role": "agent", "capacity": "lots"})
    assert bad.status_code == 422
    assert "capacity 'lots' is not a whole number" in html.unescape(bad.text)

    saved = await post(
        admin,
        path,
        {
            "name": "Renamed",
            "role": "supervisor",
            "skills": "orders",
            "languages": "en",
            "capacity": "2",
            "password": "another long password",
        },
    )
    assert location(saved).endswith("?done=user_saved")
    with console.harness.container.db.read() as conn:
        account = accounts.find_user(conn, "new@example.com")
    assert (account.name, account.role, account.capacity) == ("Renamed", "supervisor", 2)
    assert not account.active  # the checkbox was not sent: deactivated
    ended = await newcomer.get("/console")
    assert ended.status_code == 303  # a password change (and deactivation) ends sessions

    listing = await admin.get("/console/admin/users")
    assert "Renamed" in listing.text


async def test_events_stream_needs_a_session(console: Console) -> None:
    client = console.browser()
    response = await client.get("/console/events")
    assert response.status_code == 401
    assert response.headers["x-console-login"] == "/console/login?reason=required"
