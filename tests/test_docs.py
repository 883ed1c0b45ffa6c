"""Generated documents stay in step with the definitions they are made from."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcop.spec.docs import GENERATED
from vcop.spec.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("relative", sorted(GENERATED))
def test_generated_doc_is_current(relative: str) -> None:
    path = ROOT / relative
    assert path.exists(), f"{relative} missing: run `uv run vcop docs`"
    assert path.read_text("utf-8") == GENERATED[relative](), (
        f"{relative} is stale: run `uv run vcop docs`"
    )


def test_data_dictionary_lists_every_column() -> None:
    text = (ROOT / "docs/data-dictionary.md").read_text("utf-8")
    for table in load_schema().tables:
        assert f"## {table.name}\n" in text
        for column in table.columns:
            assert f"| `{column.name}` |" in text


#: Columns whose names contain a flagged word but hold no personal detail.
NOT_PERSONAL = {"lsoa_name"}  # the ONS name of a statistical area, e.g. 'Cambridge 007A'


def test_schema_has_no_personal_detail_columns() -> None:
    for table in load_schema().tables:
        for column in table.columns:
            if column.name in NOT_PERSONAL:
                continue
            for word in ("name", "address", "phone", "postcode", "birth", "email"):
                assert word not in column.name, f"{table.name}.{column.name}"
