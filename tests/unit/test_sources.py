"""The source rule of the cohorts (`domain.sources`): ad, campaign or organic."""

from __future__ import annotations

import pytest

from relaydesk.domain.sources import FirstMessage, campaign_reference, source_of


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("Hi! ref=black-friday", "black-friday"),
        ("REF=spring_2026 I saw your newsletter", "spring_2026"),
        ("https://shop.example/?utm_source=mail&utm_campaign=winter.sale", "winter.sale"),
        ("hello", None),
        ("my preference=blue", None),  # "ref=" inside a word is no reference
        ("ref=", None),
        (None, None),
    ],
)
def test_campaign_reference(text: str | None, reference: str | None) -> None:
    assert campaign_reference(text) == reference


def test_the_source_rule() -> None:
    text = FirstMessage("text", "hello", replies_to_template=False)
    assert source_of(False, None) == "organic"
    assert source_of(False, text) == "organic"
    assert source_of(True, text) == "ad"
    assert source_of(False, FirstMessage("button", None, False)) == "campaign"
    assert source_of(False, FirstMessage("text", "yes please", True)) == "campaign"
    assert source_of(False, FirstMessage("text", "hi ref=newsletter-12", False)) == "campaign"
    # an ad's referral wins over a campaign reference
    assert source_of(True, FirstMessage("text", "hi ref=newsletter-12", False)) == "ad"
