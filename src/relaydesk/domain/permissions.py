"""Who may do what: the roles, the actions on each resource, and the one table between
them. The API and the console check every request against this table (through
`app.access`), and the services ask it for the few decisions that depend on the role
(whose conversations a person sees and works on, whose tokens they manage).

Adding a route: guard it with `allow(Action.X)` (API: `app.http.deps`, console:
`app.console._web`), with a new `Action` here and its row in `PERMISSIONS` when none fits;
`tests/acceptance/test_permissions.py` fails for a route that names no action."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Action(StrEnum):
    """`resource.verb`: one per thing a person can do."""

    CONVERSATIONS_LIST = "conversations.list"  #: list conversations (`?customer=`)
    CONVERSATIONS_READ = "conversations.read"  #: one conversation, its messages and card
    CONVERSATIONS_READ_ANY = "conversations.read_any"  #: beyond the queued and one's own
    CONVERSATIONS_TAKE = "conversations.take"
    CONVERSATIONS_WORK_ANY = "conversations.work_any"  #: others' conversations, any queue
    CONVERSATIONS_REPLY = "conversations.reply"
    CONVERSATIONS_NOTE = "conversations.note"
    CONVERSATIONS_TRANSFER = "conversations.transfer"
    CONVERSATIONS_ESCALATE = "conversations.escalate"
    CONVERSATIONS_RESOLVE = "conversations.resolve"
    CONVERSATIONS_HANDBACK = "conversations.handback"
    CONVERSATIONS_FEEDBACK = "conversations.feedback"
    CONVERSATIONS_TAG = "conversations.tag"  #: failure tags on any conversation (review)
    CONVERSATIONS_REVIEW = "conversations.review"  #: list and search every conversation
    PRESENCE_SET = "presence.set"  #: one's own presence
    QUEUES_READ = "queues.read"  #: the queues and who waits in them
    SUPERVISION_READ = "supervision.read"  #: SLA risk, every agent's load and presence
    ALERTS_RECEIVE = "alerts.receive"  #: supervisor alerts in the live event streams
    EVENTS_READ = "events.read"  #: the live event stream
    DRAFTS_READ = "drafts.read"
    DRAFTS_DECIDE = "drafts.decide"  #: send or reject a draft
    INSIGHTS_READ = "insights.read"  #: scorecard, cohorts, metrics tables, rewrite stats
    BRIEF_READ = "brief.read"  #: the brief's versions and the change log
    ROLLOUT_READ = "rollout.read"
    ROLLOUT_MANAGE = "rollout.manage"  #: promote, roll back, change phase
    REPLAY_READ = "replay.read"
    REPLAY_RUN = "replay.run"  #: upload a history to replay
    USERS_MANAGE = "users.manage"  #: list, create and change accounts
    TOKENS_MANAGE = "tokens.manage"  #: one's own API tokens
    TOKENS_MANAGE_ANY = "tokens.manage_any"  #: everyone's API tokens
    AUDIT_READ = "audit.read"
    CUSTOMERS_EXPORT = "customers.export"
    CUSTOMERS_ERASE = "customers.erase"
    INTEGRATIONS_READ = "integrations.read"
    INTEGRATIONS_RETRY = "integrations.retry"
    SESSION_END = "session.end"  #: sign out of the console


EVERYONE = frozenset(Role)
STAFF = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})

#: The one table: which roles may do each action.
PERMISSIONS: MappingProxyType[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.CONVERSATIONS_LIST: EVERYONE,
        Action.CONVERSATIONS_READ: EVERYONE,
        Action.CONVERSATIONS_READ_ANY: STAFF,
        Action.CONVERSATIONS_TAKE: EVERYONE,
        Action.CONVERSATIONS_WORK_ANY: STAFF,
        Action.CONVERSATIONS_REPLY: EVERYONE,
        Action.CONVERSATIONS_NOTE: EVERYONE,
        Action.CONVERSATIONS_TRANSFER: EVERYONE,
        Action.CONVERSATIONS_ESCALATE: EVERYONE,
        Action.CONVERSATIONS_RESOLVE: EVERYONE,
        Action.CONVERSATIONS_HANDBACK: EVERYONE,
        Action.CONVERSATIONS_FEEDBACK: EVERYONE,
        Action.CONVERSATIONS_TAG: STAFF,
        Action.CONVERSATIONS_REVIEW: STAFF,
        Action.PRESENCE_SET: EVERYONE,
        Action.QUEUES_READ: EVERYONE,
        Action.SUPERVISION_READ: STAFF,
        Action.ALERTS_RECEIVE: STAFF,
        Action.EVENTS_READ: EVERYONE,
        Action.DRAFTS_READ: EVERYONE,
        Action.DRAFTS_DECIDE: EVERYONE,
        Action.INSIGHTS_READ: STAFF,
        Action.BRIEF_READ: STAFF,
        Action.ROLLOUT_READ: STAFF,
        Action.ROLLOUT_MANAGE: STAFF,
        Action.REPLAY_READ: STAFF,
        Action.REPLAY_RUN: STAFF,
        Action.USERS_MANAGE: ADMINS,
        Action.TOKENS_MANAGE: EVERYONE,
        Action.TOKENS_MANAGE_ANY: ADMINS,
        Action.AUDIT_READ: ADMINS,
        Action.CUSTOMERS_EXPORT: ADMINS,
        Action.CUSTOMERS_ERASE: ADMINS,
        Action.INTEGRATIONS_READ: STAFF,
        Action.INTEGRATIONS_RETRY: STAFF,
        Action.SESSION_END: EVERYONE,
    }
)


def can(role: str, action: Action) -> bool:
    """Whether a person of this role may do the action (an unknown role may do nothing)."""
    return role in PERMISSIONS[action]


def roles_for(action: Action) -> tuple[Role, ...]:
    """The roles that may do the action, in the order agent, supervisor, admin."""
    return tuple(role for role in Role if role in PERMISSIONS[action])
