"""`vcop check`: validate every definition vcop ships, and say where each problem is.

A check is a small function that returns a list of :class:`Problem` (file, line, message); checks
never stop at the first problem. Each family of definitions registers its checks here with
:func:`register` — the Victims' Code editions (``vcop.spec.code``) first; metric catalogues and
mapping profiles can add theirs beside it. :func:`check_definitions` runs them all.

This module also holds the YAML loader that remembers line numbers, so every loader can point at
the line a problem comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

#: A path to a value inside a YAML document: keys and list indexes, e.g. ("deadline", "standard").
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition file, printed as ``file:line: message``."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def sort_key(self) -> tuple[str, int, str]:
        return (self.file, self.line or 0, self.message)


@dataclass(frozen=True)
class LineMap:
    """Line numbers (1-based) of the values in one YAML document, by their path."""

    file: str
    lines: Mapping[Loc, int]

    def line(self, loc: Sequence[str | int]) -> int | None:
        """The line of ``loc``, or of its nearest enclosing value that has one."""
        path = tuple(loc)
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        return Problem(self.file, self.line(loc), message)


#: libyaml's parser when PyYAML was built with it (its wheels are), else the pure-Python one:
#: the same documents and marks, several times faster on the definitions every command loads.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """A safe loader whose documents are plain data; line numbers are collected separately."""


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*loc, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines)


def load_yaml(text: str, file: str) -> tuple[Any, LineMap]:
    """Parse one YAML document; return its data and where each value is.

    The text is parsed once: the line numbers are read from the document's nodes, and the data
    constructed from the same nodes.

    Raises :class:`DefinitionError` (with file and line) if the text is not valid YAML.
    """
    loader = _LineLoader(text)
    lines: dict[Loc, int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return None, LineMap(file, lines)
        _walk(node, (), lines)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise DefinitionError([Problem(file, line, f"not valid YAML: {exc.problem}")]) from exc
    finally:
        loader.dispose()
    return data, LineMap(file, lines)


class DefinitionError(ValueError):
    """Definitions that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


CheckFunction = Callable[[], list[Problem]]

#: Every registered family of checks, by name, in the order they run.
CHECKS: dict[str, CheckFunction] = {}


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Add a family of checks to ``vcop check``."""

    def decorate(function: CheckFunction) -> CheckFunction:
        CHECKS[name] = function
        return function

    return decorate


# The families are imported when they run: their loaders import this module.


@register("code")
def _victims_code() -> list[Problem]:
    from vcop.spec.code import check_code

    return check_code()


@register("metrics")
def _metric_catalogue() -> list[Problem]:
    from vcop.spec.metrics import check_catalogue  # the loader imports this module

    return check_catalogue()


@register("profiles")
def _mapping_profiles() -> list[Problem]:
    """Every packaged mapping profile parses and names only canonical tables and columns."""
    from vcop.spec.profile import ProfileError, load_profile, packaged_profiles, profile_problems

    problems = []
    for name in sorted(packaged_profiles()):
        file = f"definitions/profiles/{name}.yaml"
        try:
            profile = load_profile(name)
        except ProfileError as exc:
            problems.append(Problem(file, None, str(exc).removeprefix(f"{file}: ")))
            continue
        problems.extend(Problem(file, None, p) for p in profile_problems(profile))
    return problems


def check_definitions(names: Sequence[str] | None = None) -> list[Problem]:
    """Run the registered checks (all, or those named) and return every problem found."""
    problems: list[Problem] = []
    for name, function in CHECKS.items():
        if names is None or name in names:
            problems.extend(function())
    return sorted(set(problems), key=Problem.sort_key)


@register("returns")
def _returns() -> list[Problem]:
    """Every packaged return definition names real obligations and metrics."""
    from vcop.spec.returns import load_return, package_root

    problems: list[Problem] = []
    for entry in sorted(package_root().iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        try:
            load_return(entry.name.removesuffix(".yaml"))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    return problems
