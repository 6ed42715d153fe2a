"""Content gaps from clustered unanswered messages (`domain.content_gaps`)."""

from __future__ import annotations

from relaydesk.domain.content_gaps import candidate_name, gaps

TEXTS = [
    "do you sell gift cards",
    "gift card for 50 euros?",
    "do you sell gift cards",
    "can I pay with bitcoin",
    "do you take crypto payments",
    "where is your store in Valencia",
]
REASONS = ["clarified", "clarified", "low_confidence", "out_of_scope", "clarified", "clarified"]
CONVERSATIONS = [1, 2, 3, 4, 5, 6]


def test_clusters_of_three_or_more_become_gaps_largest_first() -> None:
    """Cluster 0 has the three gift-card messages; cluster 1 (two crypto) and cluster 2
    (one store) are too small."""
    found = gaps(TEXTS, REASONS, CONVERSATIONS, [0, 0, 0, 1, 1, 2])
    assert len(found) == 1
    gap = found[0]
    assert gap.count == 3
    assert gap.examples == ("do you sell gift cards", "gift card for 50 euros?")
    assert gap.reasons == {"clarified": 2, "low_confidence": 1}
    assert gap.conversation_ids == (1, 2, 3)
    assert gap.name == "gap_gift_cards"  # "gift" in 3; "cards" and "sell" in 2: by name


def test_a_smaller_minimum_keeps_more_and_names_stay_distinct() -> None:
    found = gaps(TEXTS, REASONS, CONVERSATIONS, [0, 0, 0, 1, 1, 2], min_size=1)
    assert [g.count for g in found] == [3, 2, 1]
    assert len({g.name for g in found}) == 3


def test_a_name_already_taken_gets_a_number() -> None:
    assert candidate_name(["gift card"], {"gap_card_gift"}) == "gap_card_gift_2"
    assert candidate_name(["?? 42"], set()) == "gap_unnamed"
