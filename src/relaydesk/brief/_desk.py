"""The brief's sections on the people who take over: queues, the tier ladder, the SLAs of
each priority and the business hours they are counted in."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from relaydesk.brief._model import _Model
from relaydesk.brief._types import (
    Duration,
    Language,
    Name,
    Text,
    TimeZoneName,
    Weekday,
    brief_error,
    format_duration,
)

# -- queues, ladder, SLAs ---------------------------------------------------------------


class Queue(_Model):
    description: str = ""
    tier: Literal[2, 3, 4]
    skills: list[Text] = Field(min_length=1)
    languages: list[Language] = Field(default_factory=list)
    customer_languages: list[Language] = Field(
        default_factory=list,
        description="customers writing in one of these languages are handed to this queue "
        "rather than the one their intent or the default names (a keyword trigger's queue "
        "and a tier a trigger requires still win)",
    )


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class LadderStep(_Model):
    """One target of the tier ladder. Several queues in one step mean "whichever of these
    matches the conversation's intent or skills, else the first"."""

    queue: Annotated[list[Name], BeforeValidator(_one_or_many)] = Field(min_length=1)
    timeout: Duration | None = None
    skip_if_unavailable: bool = True


BreachActionName = Literal["raise_priority", "move_up_tier", "notify_supervisors"]
BREACH_ACTIONS: tuple[BreachActionName, ...] = (
    "raise_priority",
    "move_up_tier",
    "notify_supervisors",
)


class Sla(_Model):
    first_response: Duration
    next_response: Duration
    resolution: Duration
    business_hours: bool = True
    warn_at: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8
    on_breach: list[BreachActionName] | None = Field(
        default=None,
        description="what a breach of any clock does: raise_priority, move_up_tier, "
        "notify_supervisors; [] only records it; left out: the built-in defaults per clock",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Sla:
        if self.first_response > self.resolution:
            raise brief_error(
                "sla",
                f"first_response ({format_duration(self.first_response)}) is longer than "
                f"resolution ({format_duration(self.resolution)}); shorten first_response.",
            )
        if self.on_breach is not None and len(set(self.on_breach)) < len(self.on_breach):
            twice = sorted({a for a in self.on_breach if self.on_breach.count(a) > 1})
            raise brief_error(
                "sla",
                f"on_breach lists {', '.join(twice)} more than once; list each action once.",
            )
        return self


# -- business hours ---------------------------------------------------------------------

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class TimeRange(_Model):
    """Opening hours in one day, written "09:00-18:00". An end at or before the start
    ("22:00-02:00") runs into the next day; "00:00-24:00" is the whole day."""

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        match = _RANGE.match(value.strip())
        hours = [int(g) for g in match.groups()] if match else []
        if not hours or hours[0] > 23 or hours[2] > 24 or hours[1] > 59 or hours[3] > 59:
            raise brief_error(
                "time_range",
                f"{value!r} is not a time range; write it as HH:MM-HH:MM, like 09:00-18:00 "
                "(22:00-02:00 runs past midnight).",
            )
        end = time(0, 0) if hours[2] == 24 else time(hours[2], hours[3])
        return {"start": time(hours[0], hours[1]), "end": end}

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


_Date = date


class Holiday(_Model):
    date: _Date
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_date(cls, value: object) -> object:
        return {"date": value} if isinstance(value, date | str) else value


class BusinessHours(_Model):
    timezone: TimeZoneName | None = None
    weekly: dict[Weekday, list[TimeRange]]
    holidays: list[Holiday] = Field(default_factory=list)
