"""`services.review.checked`: the daily review's period takes the Insights' years
(`FIRST_YEAR` to `LAST_YEAR`) and refuses others in the same words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relaydesk.brief import EXAMPLE_BRIEF, load_brief
from relaydesk.services.insights import FIRST_YEAR, LAST_YEAR
from relaydesk.services.review import BadFilterError, Filters, checked

BRIEF = load_brief(EXAMPLE_BRIEF)


@pytest.mark.parametrize("year", [FIRST_YEAR, LAST_YEAR])
def test_a_start_in_the_insights_years_is_kept(year: int) -> None:
    start = datetime(year, 6, 1, tzinfo=UTC)
    assert checked(Filters(start=start), BRIEF).start == start


@pytest.mark.parametrize("year", [FIRST_YEAR - 1, LAST_YEAR + 1])
def test_a_start_outside_the_insights_years_is_refused(year: int) -> None:
    start = datetime(year, 6, 1, tzinfo=UTC)
    with pytest.raises(BadFilterError) as caught:
        checked(Filters(start=start), BRIEF)
    assert str(caught.value) == (
        f"start {start.isoformat()} is out of range ({FIRST_YEAR} to {LAST_YEAR})"
    )
