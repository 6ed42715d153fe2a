"""The operating brief: one YAML file with a business's whole support policy."""

from __future__ import annotations

from pathlib import Path

from relaydesk.brief.loader import BriefError, BriefProblem, check_brief, load_brief
from relaydesk.brief.schema import Brief

EXAMPLE_BRIEF = Path(__file__).parent / "examples" / "shop.yaml"
"""The bundled example brief (a small online shop): the one to copy when starting."""

__all__ = ["EXAMPLE_BRIEF", "Brief", "BriefError", "BriefProblem", "check_brief", "load_brief"]
