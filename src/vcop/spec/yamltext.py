"""YAML read as text: every mapping key exactly as written, and no scalar turned into a number,
a boolean or a date.

PyYAML's safe loader follows YAML 1.1, where ``Yes``, ``No``, ``on``, ``Y``-style words become
booleans and ``1``, ``01``, ``1_000`` or ``2025-01-31`` become numbers and dates. In a profile a
code such as ``Yes:`` or ``1:`` must stay the text the export writes, so this loader keeps the key
as written (``NULL:`` included) and reads every other plain scalar as text, except an empty value
or ``~``/``null``, which mean nothing. Pydantic turns a text like ``"3"`` into a number where a
field is a number (``header_row: 3``).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode

#: The YAML 1.1 implicit types that are not read (their text is kept).
_DROPPED = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class TextLoader(yaml.SafeLoader):
    """A safe loader that keeps mapping keys and plain scalars as text (see the module)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                key: Any = key_node.value
            else:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, (str, int, float, bool, tuple)):
                    raise ConstructorError(
                        "while reading a mapping", node.start_mark,
                        "a key must be text", key_node.start_mark,
                    )  # fmt: skip
            if key in mapping:
                raise ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"the key {key!r} appears twice", key_node.start_mark,
                )  # fmt: skip
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


TextLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_text_yaml(text: str) -> Any:
    """The YAML document in ``text``, its keys and scalars as text (``yaml.YAMLError`` if it is
    not valid YAML)."""
    return yaml.load(text, Loader=TextLoader)  # nosec B506 - TextLoader is a SafeLoader
