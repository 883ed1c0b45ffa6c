from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def tiny() -> Path:
    """A hand-made standard extract with deliberately bad rows of every kind."""
    return FIXTURES / "tiny"
