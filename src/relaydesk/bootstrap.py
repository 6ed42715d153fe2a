"""The composition root: the only place that builds engines, clients and services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.exc import SQLAlchemyError

from relaydesk.adapters.storage import drafts as drafts_store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import INTAKE_WRITE_SLICE, WRITE_SLICE, Database
from relaydesk.adapters.storage.intake import Intake, intake_path, open_intake
from relaydesk.adapters.storage.migrate import pending, upgrade
from relaydesk.adapters.storage.pending import Pending
from relaydesk.adapters.whatsapp.client import GraphClient
from relaydesk.adapters.whatsapp.pacing import SendPacer
from relaydesk.brief.loader import ignored_settings, load_brief_and_source, start_errors
from relaydesk.brief.schema import Brief
from relaydesk.config import SANDBOX_PHONE_NUMBER_ID, Settings
from relaydesk.domain.outbound import Template
from relaydesk.domain.rollout import AcceptanceSource
from relaydesk.domain.templates import followup
from relaydesk.observability import Metrics
from relaydesk.services.agents import AgentDesk
from relaydesk.services.change_log import record_brief
from relaydesk.services.crm_lookup import CrmLookup, Wanted
from relaydesk.services.decisions import DecisionMaker, DecisionStage, pending_depth
from relaydesk.services.drafts import DraftDesk
from relaydesk.services.events import EventHub
from relaydesk.services.inbound import InboundService
from relaydesk.services.insights import ScorecardGauges
from relaydesk.services.intake import IntakeMover
from relaydesk.services.integrations import (
    IntegrationConfigError,
    IntegrationWorker,
    build_integrations,
)
from relaydesk.services.links import BookingLinks
from relaydesk.services.outbox import OutboxWorker
from relaydesk.services.privacy import MessageRetention
from relaydesk.services.replay_jobs import ReplayJobs
from relaydesk.services.rollout import Rollout
from relaydesk.services.runner import RawWebhookPurge, Runner, Scheduler
from relaydesk.services.summaries import Refresh as SummaryRefresh
from relaydesk.services.summaries import SummaryCache
from relaydesk.services.timers import Timers

if TYPE_CHECKING:
    from relaydesk.services.launch_check import Encode

log = structlog.get_logger(__name__)

#: How often the worker judges the rollout's gates (rollbacks act at once).
ROLLOUT_CHECK = timedelta(minutes=1)


class StartupError(RuntimeError):
    """The service cannot start as configured; the message says what to do."""


@dataclass
class Container:
    settings: Settings
    base_url: str  #: where this process is reached (the sandbox posts its webhooks there)
    db: Database
    brief: Brief
    metrics: Metrics
    graph: GraphClient
    worker: OutboxWorker
    desk: AgentDesk
    hub: EventHub  #: live updates for the console's and the API's event streams
    timers: Timers  #: SLA clocks, the ladder and CSAT; run by the worker every second
    runner: Runner  #: the outbox loop, the decision stage and the periodic jobs
    inbound: InboundService  #: the webhook path: store, dedupe, acknowledge
    replays: ReplayJobs  #: pre-launch replays uploaded in the console or the API
    rollout: Rollout  #: segment, intents' modes, gates; docs/rollout.md
    drafts: DraftDesk  #: the bot's drafts waiting for approval (draft mode per intent)
    integrations: IntegrationWorker  #: write-back to CRMs and webhooks; docs/integrations.md
    lookup: CrmLookup  #: the CRMs' customer attributes, before each round of decisions
    #: the Insights' summaries this process has read (the console's and the API's tables)
    insights_cache: SummaryCache = field(default_factory=SummaryCache)
    _decisions: DecisionStage | None = None
    _intake: Intake | None = None
    _mover: IntakeMover | None = None

    @property
    def booking_links(self) -> BookingLinks:
        """The tracked booking links (`/r/<token>`) this process sends and redirects."""
        return BookingLinks(self.settings.secret_key.get_secret_value(), self.base_url)

    @property
    def decisions(self) -> DecisionStage:
        """The decision stage, with the brief's trained classifier: built on first use, so
        a process that only receives webhooks (`serve --no-worker`) never imports or loads
        a model."""
        if self._decisions is None:
            from relaydesk.nlu.datasets import DatasetError
            from relaydesk.nlu.threads import one_thread
            from relaydesk.services.decider import BriefDecider

            # One BLAS/OpenMP thread: the models' batches are small, and extra threads spin
            # against the event loop and the writer for the same cores (training the
            # example brief took 6x the CPU with them on a busy 2-core machine).
            one_thread()
            try:
                decider = BriefDecider.from_brief(
                    self.brief, self.settings.nlu_history, self.booking_links.url_for
                )
            except DatasetError as exc:
                raise StartupError(f"RELAYDESK_NLU_HISTORY: {exc}") from None
            self._decisions = DecisionStage(
                self.db,
                decider,
                self.metrics,
                backlog_max_age=timedelta(seconds=self.settings.backlog_max_age_seconds),
                # no acknowledgement waits on this writer where webhooks go to the intake
                write_slice=WRITE_SLICE if self.intake is None else INTAKE_WRITE_SLICE,
                on_outbound=self.worker.notify,
                on_event=self.hub.wake,
                admit=self.rollout.admit,
                intent_mode=self.rollout.intent_mode,
                before_round=self._look_up if self.lookup.active else None,
            )
            self.inbound.on_pending = self._decisions.wake.set
            self.runner.add_loop(self._decisions.run_async)
            if self.mover is not None:  # what serve acknowledged, into the database
                self.runner.add_loop(self.mover.run_async)
            # Replays are worked where messages are decided: the process has the model.
            self.runner.add_loop(self.replays.run_async)
        return self._decisions

    @property
    def intake(self) -> Intake | None:
        """The webhooks' intake file beside a SQLite database (`adapters.storage.intake`),
        opened (and made) on first use; None in memory and on PostgreSQL."""
        if self._intake is None:
            path = intake_path(self.db)
            if path is not None:
                try:
                    self._intake = open_intake(
                        path, sqlite_synchronous=self.settings.sqlite_synchronous
                    )
                except (OSError, SQLAlchemyError, ValueError) as exc:
                    raise StartupError(
                        f"the webhook intake file {path} cannot be opened: {exc}. It lives "
                        "beside the SQLite database (RELAYDESK_DATABASE_URL): check that its "
                        "folder is writable"
                    ) from None
        return self._intake

    @property
    def mover(self) -> IntakeMover | None:
        """The worker's move of the intake file's webhooks into the database (with the
        intake; the decision stage runs it beside itself)."""
        if self._mover is None and self.intake is not None:
            self._mover = IntakeMover(self.intake, self.inbound, self.db)
        return self._mover

    def dispose(self) -> None:
        """Close the databases (at the end of a process)."""
        if self._intake is not None:
            self._intake.db.dispose()
        self.db.dispose()

    def _look_up(self, coming: Sequence[Pending]) -> None:
        wanted = [
            Wanted(p.customer_id, p.message.sender.wa_id) for p in coming if p.message.sender.wa_id
        ]
        self.lookup.enrich(wanted)


def graph_url_for(settings: Settings, base_url: str) -> str:
    """Where replies go: the built-in fake Graph endpoint in sandbox mode, else Meta's."""
    return f"{base_url}/sandbox/graph" if settings.sandbox else settings.whatsapp_graph_url


def reengagement_template(brief: Brief) -> Callable[[str | None, str | None], Template]:
    """The template for a customer whose 24-hour window has closed, given their name and
    language: in that language where the brief has the version, its parameters filled."""
    return partial(followup, brief)


def prepare_database(settings: Settings, db: Database, *, migrate: bool) -> None:
    """Migrate a SQLite database in place; PostgreSQL must be migrated explicitly."""
    if not pending(db.engine):
        return
    if migrate or db.is_sqlite:
        upgrade(db.engine)
        return
    raise StartupError(
        "the database schema is not up to date; run `relaydesk db upgrade` "
        "(with the same RELAYDESK_DATABASE_URL) before starting the service"
    )


def build(settings: Settings, *, base_url: str, migrate: bool = False) -> Container:
    try:
        brief, brief_source = load_brief_and_source(settings.brief)
    except Exception as exc:
        raise StartupError(
            f"the brief {settings.brief} is invalid:\n{exc}\n"
            f"Run `relaydesk brief check {settings.brief}` for details."
        ) from None
    for setting, problem in ignored_settings(brief):
        log.warning("brief_setting_ignored", setting=setting, problem=problem)
    for setting, problem in start_errors(brief):
        log.error("brief_check_error", setting=setting, problem=problem)
    db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        prepare_database(settings, db, migrate=migrate)
        record_brief(  # every brief a process runs is a stored version decisions point at
            db,
            brief_source,
            settings.brief,
            author=settings.brief_author,
            message=settings.brief_message,
            now=datetime.now(UTC),
        )
    except BaseException:
        db.dispose()
        raise
    metrics = Metrics()
    graph = GraphClient(
        base_url=graph_url_for(settings, base_url),
        api_version=settings.whatsapp_api_version,
        access_token=settings.access_token,
        timeout=settings.whatsapp_timeout_seconds,
        connections=settings.whatsapp_connections,
    )
    worker = OutboxWorker(
        db,
        graph,
        metrics,
        reengagement=reengagement_template(brief),
        pacer=SendPacer(number_rate=settings.send_rate_per_number),
        batch_size=settings.outbox_batch_size,
        max_attempts=settings.outbox_max_attempts,
        reconcile_after=timedelta(seconds=settings.outbox_reconcile_seconds),
        lease=timedelta(seconds=settings.outbox_lease_seconds),
    )

    def read_outbox() -> tuple[int, float]:
        with db.read() as conn:
            return repo.outbox_depth(conn, datetime.now(UTC))

    metrics.watch_outbox(read_outbox)

    def read_pending() -> tuple[int, float]:
        count, oldest = pending_depth(db)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        return count, max(age, 0.0)

    metrics.watch_pending(read_pending)
    metrics.watch_scorecard(ScorecardGauges(db, brief, lambda: datetime.now(UTC)))
    desk = AgentDesk(db, brief)
    timers = Timers(db, brief, on_outbound=worker.notify)
    scheduler = Scheduler()
    scheduler.every("assignment", timedelta(seconds=1), desk.assign_waiting)
    # after assignment: the ladder moves only the unassigned
    scheduler.every("timers", timedelta(seconds=1), timers.run)
    drafts = DraftDesk(db, brief, on_outbound=worker.notify)
    # a draft nobody handled within the brief's rollout.draft_timeout goes to people
    scheduler.every("draft_timeouts", timedelta(seconds=5), drafts.expire_due)
    raw_retention = timedelta(days=settings.raw_webhook_retention_days)
    scheduler.every("raw_webhook_purge", timedelta(minutes=10), RawWebhookPurge(db, raw_retention))
    # ahead of the Insights pages, which otherwise summarise what changed since themselves
    scheduler.every("insights_summaries", timedelta(seconds=30), SummaryRefresh(db, brief))
    if brief.privacy.message_retention_days is not None:
        retention = MessageRetention(db, brief.privacy.message_retention_days)
        scheduler.every("message_retention", timedelta(minutes=10), retention)
    try:
        built = build_integrations(brief)
    except IntegrationConfigError as exc:
        db.dispose()
        raise StartupError(str(exc)) from None
    integrations = IntegrationWorker(db, brief, built, metrics)
    lookup = CrmLookup(db, brief, built)
    # Its own loop, apart from the WhatsApp outbox: a slow CRM delays no reply.
    runner = Runner([worker.run, integrations.run_async], scheduler=scheduler)
    # SQLite has no NOTIFY: poll the events table often (a primary-key range read); on
    # PostgreSQL NOTIFY wakes the hub and the poll is only a safety net.
    hub = EventHub(db, poll_interval=0.25 if db.is_sqlite else 2.0)
    rollout = build_rollout(db, brief, on_event=hub.wake)
    scheduler.every("rollout_gates", ROLLOUT_CHECK, rollout.check)
    inbound = InboundService(db, brief, metrics, on_outbound=worker.notify, on_event=hub.wake)
    drafts.on_event = hub.wake
    replays = ReplayJobs(
        db,
        brief,
        decider=lambda: _replay_decider(brief, settings),
        encoder=_sentence_encoder,
        max_upload_bytes=settings.replay_max_upload_bytes,
    )
    return Container(
        settings,
        base_url,
        db,
        brief,
        metrics,
        graph,
        worker,
        desk,
        hub,
        timers,
        runner,
        inbound,
        replays,
        rollout,
        drafts,
        integrations,
        lookup,
    )


def build_rollout(
    db: Database, brief: Brief, *, on_event: Callable[[], None] = lambda: None
) -> Rollout:
    """The rollout service (the server's, the worker's and `relaydesk rollout`'s)."""
    return Rollout(db, brief, _draft_acceptance(db), on_event=on_event)


def _draft_acceptance(db: Database) -> AcceptanceSource:
    """The gates' acceptance figures: drafts handled and sent unchanged, per intent."""

    def acceptance(since: datetime, until: datetime) -> dict[str, tuple[int, int]]:
        with db.read() as conn:
            return drafts_store.acceptance_by_intent(conn, since, until)

    return acceptance


def _replay_decider(brief: Brief, settings: Settings) -> DecisionMaker:
    """The decision stage's own decider (the trained model is shared, once per brief)."""
    from relaydesk.services.decider import BriefDecider

    return BriefDecider.from_brief(brief, settings.nlu_history)


def _sentence_encoder() -> Encode | None:
    """MiniLM, when installed, to cluster what a replay's bot did not understand."""
    from relaydesk.nlu import minilm

    encoder = minilm.load_default()
    return encoder.encode if encoder is not None else None


def sandbox_phone_number_id(settings: Settings) -> str:
    return settings.whatsapp_phone_number_id or SANDBOX_PHONE_NUMBER_ID
