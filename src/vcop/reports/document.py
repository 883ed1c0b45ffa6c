"""A report as a plain list of blocks, written out as Word, PDF or HTML by :mod:`vcop.reports.render`.

Reports (the board paper, the partner pack) build a :class:`Document`; they never format a file
themselves. Every block holds finished text: numbers are formatted before they get here, so the
three formats say exactly the same thing, and :meth:`Document.text` (what the golden snapshot and
the tests read) is what every format shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A section (level 1) or subsection (level 2) heading, optionally numbered ("4.1")."""

    text: str
    level: int = 1
    number: str | None = None

    @property
    def label(self) -> str:
        return f"{self.number} {self.text}" if self.number else self.text


@dataclass(frozen=True)
class Paragraph:
    """Body text, optionally numbered like the seed paper's "4.1.2"; ``note`` is small print."""

    text: str
    number: str | None = None
    note: bool = False

    @property
    def label(self) -> str:
        return f"{self.number} {self.text}" if self.number else self.text


@dataclass(frozen=True)
class Table:
    """A table of finished text. ``numeric[i]``: column ``i`` holds numbers (right-aligned)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    numeric: tuple[bool, ...] = ()
    #: Small print (a long reference table, such as an appendix): smaller type, less padding.
    compact: bool = False

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"a row of table {self.caption!r} has {len(row)} cells, not "
                                 f"{len(self.columns)}: {row!r}")  # fmt: skip
        if self.numeric and len(self.numeric) != len(self.columns):
            raise ValueError(f"table {self.caption!r}: numeric must flag every column")

    def is_numeric(self, i: int) -> bool:
        return bool(self.numeric) and self.numeric[i]


@dataclass(frozen=True)
class Image:
    """A PNG (a chart rendered from its Vega-Lite spec), with the text alternative ``alt``."""

    png: bytes
    alt: str
    caption: str = ""
    width_cm: float = 16.0


@dataclass(frozen=True)
class PageBreak:
    """Start a new page (Word and PDF; a rule in HTML). ``orientation`` ("portrait" or
    "landscape"): the pages from here on are laid out so (None: as before), in every format."""

    orientation: str | None = None

    def __post_init__(self) -> None:
        if self.orientation not in (None, "portrait", "landscape"):
            raise ValueError(f"no page orientation {self.orientation!r}")


Block = Heading | Paragraph | Table | Image | PageBreak


@dataclass
class Document:
    """A whole report: a protective marking, a title, the memo lines under it, and blocks."""

    title: str
    marking: str = "OFFICIAL"
    memo: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    #: The first page's orientation in the PDF ("landscape" for a wide dashboard page); a
    #: :class:`PageBreak` may change it for the pages after it.
    orientation: str = "portrait"

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def text(self) -> str:
        """The document as plain text: every word a reader sees, in order (images by caption)."""
        lines = [self.marking, self.title, *(f"{k}: {v}" for k, v in self.memo), ""]
        for b in self.blocks:
            if isinstance(b, Heading | Paragraph):
                lines += [b.label, ""]
            elif isinstance(b, Table):
                if b.caption:
                    lines.append(b.caption)
                lines.append(" | ".join(b.columns))
                lines += [" | ".join(r) for r in b.rows]
                lines.append("")
            elif isinstance(b, Image):
                lines += [f"[Chart: {b.caption or b.alt}]", ""]
        return "\n".join(lines).rstrip() + "\n"
