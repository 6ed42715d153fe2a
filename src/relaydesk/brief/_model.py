"""What every model of the brief is built on: `_Model`, which forbids unknown keys (a typo
is an error, not a silently ignored setting) and freezes what was loaded, and the button
title type the sections share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from relaydesk.brief._types import LOCALIZED, MAX_BUTTON_TITLE


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ButtonTitle = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_BUTTON_TITLE), LOCALIZED
]
