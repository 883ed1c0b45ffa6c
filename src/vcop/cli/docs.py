"""`vcop docs`: regenerate the documentation made from definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vcop.cli.app import app, console, fail


@app.command()
def docs(
    root: Annotated[Path, typer.Option(help="Project root to write docs/ under.")] = Path("."),
    check: Annotated[
        bool, typer.Option("--check", help="Only report stale files; exit 1 if any.")
    ] = False,
) -> None:
    """Write the generated documents (data dictionary, …) from the definitions."""
    from vcop.spec.docs import GENERATED

    stale = []
    for relative, make in GENERATED.items():
        path = root / relative
        text = make()
        if path.exists() and path.read_text("utf-8") == text:
            continue
        stale.append(relative)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
            console.print(f"wrote {relative}")
    if check and stale:
        fail("stale generated docs: " + ", ".join(stale) + " (run `vcop docs`)", code=1)
