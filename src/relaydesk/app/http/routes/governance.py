"""Admin-only governance endpoints: the audit log (JSON or CSV) and customers' personal
data (export and erasure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import AfterValidator, AwareDatetime, BaseModel

from relaydesk.app.http.deps import ClockDep, ContainerDep, allow
from relaydesk.app.http.schemas import MAX_ID, Id, Problem
from relaydesk.domain.permissions import Action
from relaydesk.services import audit, privacy
from relaydesk.services.accounts import User

router = APIRouter(
    prefix="/api/v1",
    tags=["governance"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "is out of range once in UTC; give a time between years 1 and 9999"
        ) from None


#: A time with its zone (a naive one is refused: it would be read in no zone at all).
Moment = Annotated[AwareDatetime, AfterValidator(_utc)]
ACTION_PATTERN = r"^[a-z_]+(\.[a-z_]+)*$"
TARGET_PATTERN = r"^[a-z_]+:([0-9]{1,19})?$|^[a-z_]+$"


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str | None
    action: str
    target: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(BaseModel):
    entries: list[AuditOut]
    next_before_id: int | None  #: pass as before_id for the next (older) page


def audit_filter(
    actor_id: int | None,
    action: str | None,
    target: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> audit.AuditFilter:
    return audit.AuditFilter(
        actor_id=actor_id,
        action=action,
        target=target,
        since=since,
        until=until,
        before_id=before_id,
        limit=limit,
    )


@router.get(
    "/audit",
    response_model=AuditList,
    responses={200: {"content": {"text/csv": {}}}, 422: {"model": Problem}},
)
async def audit_log(
    container: ContainerDep,
    _admin: Annotated[User, allow(Action.AUDIT_READ)],
    actor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=ACTION_PATTERN)] = None,
    target: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=TARGET_PATTERN,
            description="`conversation:12`, or a kind with a colon for all of it: `customer:`",
        ),
    ] = None,
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> AuditList | Response:
    """The audit log, newest first, filtered; `format=csv` downloads the same page as CSV."""
    where = audit_filter(actor_id, action, target, since, until, before_id, limit)

    def read() -> list[audit.AuditEntry]:
        with container.db.read() as conn:
            return audit.entries(conn, where)

    found = await anyio.to_thread.run_sync(read)
    if format == "csv":
        return Response(
            audit.to_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    return AuditList(
        entries=[AuditOut.model_validate(audit.as_dict(e)) for e in found],
        next_before_id=found[-1].id if len(found) == limit else None,
    )


def _unknown(customer_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no customer with id {customer_id}")


@router.get(
    "/customers/{customer_id}/export",
    responses={404: {"model": Problem}},
)
async def export_customer(
    customer_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    admin: Annotated[User, allow(Action.CUSTOMERS_EXPORT)],
) -> dict[str, Any]:
    """Everything stored about the customer, by table (the request is audited)."""

    def run() -> dict[str, Any]:
        return privacy.export_customer(container.db, customer_id, clock(), actor=admin)

    try:
        return await anyio.to_thread.run_sync(run)
    except privacy.UnknownCustomerError:
        raise _unknown(customer_id) from None


class ErasedOut(BaseModel):
    customer_id: int
    erased: dict[str, int]


@router.post(
    "/customers/{customer_id}/erase",
    response_model=ErasedOut,
    responses={404: {"model": Problem}},
)
async def erase_customer(
    customer_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    admin: Annotated[User, allow(Action.CUSTOMERS_ERASE)],
) -> ErasedOut:
    """Erase the customer's personal data (identities, name, attributes, message text,
    decisions' text, notes, raw webhooks naming them); the conversations' skeleton stays
    for metrics; audited as `customer.erased`. Cannot be undone."""

    def run() -> dict[str, int]:
        return privacy.erase_customer(container.db, customer_id, clock(), actor=admin)

    try:
        counts = await anyio.to_thread.run_sync(run)
    except privacy.UnknownCustomerError:
        raise _unknown(customer_id) from None
    return ErasedOut(customer_id=customer_id, erased=counts)
