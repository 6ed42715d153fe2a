"""The words of a handoff's `{wait}` and `{opens}` ("about 12 minutes", "Monday at 09:00
Madrid time") in the languages the example brief speaks to customers in; any other
language gets English."""

from __future__ import annotations

from dataclasses import dataclass

from relaydesk.domain.language import base_language


@dataclass(frozen=True, slots=True)
class WaitWords:
    shortly: str
    about: str  #: "{figure}" placeholders below
    up_to: str
    or_more: str
    by: str
    nobody: str  #: appended when nobody from the team is online
    minute: tuple[str, str]  #: singular, plural
    hour: tuple[str, str]
    today: str
    tomorrow: str
    on_day: str  #: "{day}" for a weekday this week
    on_date: str  #: "{weekday}", "{day}", "{month}"
    at: str  #: "{day}", "{time}", "{zone}"
    weekdays: tuple[str, ...]  #: Monday first
    months: tuple[str, ...]  #: January first

    def plural(self, count: int, unit: tuple[str, str]) -> str:
        return f"{count} {unit[0] if count == 1 else unit[1]}"


_EN = WaitWords(
    shortly="shortly",
    about="about {figure}",
    up_to="up to {figure}",
    or_more="{figure} or more",
    by="by {figure}",
    nobody=" (our target; nobody from the team is online right now)",
    minute=("minute", "minutes"),
    hour=("hour", "hours"),
    today="today",
    tomorrow="tomorrow",
    on_day="{day}",
    on_date="{weekday} {day} {month}",
    at="{day} at {time} {zone} time",
    weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    months=tuple(
        (
            "January February March April May June July August September October November December"
        ).split()
    ),
)
_ES = WaitWords(
    shortly="en breve",
    about="unos {figure}",
    up_to="hasta {figure}",
    or_more="{figure} o más",
    by="como tarde {figure}",
    nobody=" (nuestro objetivo; ahora mismo no hay nadie del equipo conectado)",
    minute=("minuto", "minutos"),
    hour=("hora", "horas"),
    today="hoy",
    tomorrow="mañana",
    on_day="el {day}",
    on_date="el {weekday} {day} de {month}",
    at="{day} a las {time} (hora de {zone})",
    weekdays=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    months=tuple(
        (
            "enero febrero marzo abril mayo junio "
            "julio agosto septiembre octubre noviembre diciembre"
        ).split()
    ),
)
_PT = WaitWords(
    shortly="em breve",
    about="cerca de {figure}",
    up_to="até {figure}",
    or_more="{figure} ou mais",
    by="até {figure}",
    nobody=" (a nossa meta; agora não há ninguém da equipe online)",
    minute=("minuto", "minutos"),
    hour=("hora", "horas"),
    today="hoje",
    tomorrow="amanhã",
    on_day="{day}",
    on_date="{weekday}, {day} de {month}",
    at="{day} às {time} (hora de {zone})",
    weekdays=(
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ),
    months=tuple(
        (
            "janeiro fevereiro março abril maio junho "
            "julho agosto setembro outubro novembro dezembro"
        ).split()
    ),
)
_WORDS = {"en": _EN, "es": _ES, "pt": _PT}


def words_for(language: str | None) -> WaitWords:
    return _WORDS.get(base_language(language or "en"), _EN)
