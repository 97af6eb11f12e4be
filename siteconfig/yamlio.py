"""Reading configuration YAML with line numbers.

The file is composed once into a node tree (every node knows its line) and
the data is constructed from that same tree, so an error found later in the
data can be traced back to a line by walking the tree with the error's
location (:func:`locate`).

Scalars are resolved the YAML 1.2 way, like the yaml-language-server that
editors use with our JSON Schema: ``23:30`` is a string (YAML 1.1 would read
the number 1410), ``no``/``on`` are strings, ``010`` is ten, and dates stay
strings. Only ``true``/``false`` are booleans. Everything else is PyYAML's
safe loader: no Python objects are ever constructed from a file.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from siteconfig.errors import ConfigIssue, Loc

logger = logging.getLogger(__name__)

_INT_TAG: Final = "tag:yaml.org,2002:int"
_FLOAT_TAG: Final = "tag:yaml.org,2002:float"
_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG: Final = "tag:yaml.org,2002:timestamp"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_YAML11_ONLY: Final = {_INT_TAG, _FLOAT_TAG, _BOOL_TAG, _TIMESTAMP_TAG}

_BOOL_RE: Final = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_RE: Final = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE: Final = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class ConfigYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema scalars."""


ConfigYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigYamlLoader.add_implicit_resolver(_BOOL_TAG, _BOOL_RE, list("tTfF"))
# int before float: "123" matches both, and the first resolver in a list wins.
ConfigYamlLoader.add_implicit_resolver(_INT_TAG, _INT_RE, list("-+0123456789"))
ConfigYamlLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+.0123456789"))


def _construct_int(loader: yaml.SafeLoader, node: Node) -> int:
    assert isinstance(node, ScalarNode)
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


ConfigYamlLoader.add_constructor(_INT_TAG, _construct_int)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed file: the data and the node tree it was built from."""

    path: Path
    data: object
    root: Node | None


def read_yaml(path: Path) -> tuple[YamlDocument | None, list[ConfigIssue]]:
    """Parse one YAML file. Returns the document (None if it cannot be
    parsed) and the issues found while reading it (syntax errors, duplicate
    keys, an empty file)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return None, [ConfigIssue(path, None, None, f"cannot read file: {exc.strerror or exc}")]
    except UnicodeDecodeError as exc:
        return None, [ConfigIssue(path, None, None, f"not UTF-8 text: {exc.reason}")]
    loader = ConfigYamlLoader(text)
    try:
        root = loader.get_single_node()
        issues = list(_duplicate_keys(path, root)) if root is not None else []
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_issue(path, exc)]
    except yaml.YAMLError as exc:
        return None, [ConfigIssue(path, None, None, f"YAML error: {exc}")]
    finally:
        loader.dispose()
    if root is None:
        issues.append(ConfigIssue(path, 1, 1, "the file is empty"))
    logger.debug("parsed %s", path)
    return YamlDocument(path, data, root), issues


def _syntax_issue(path: Path, exc: yaml.MarkedYAMLError) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    parts = [p for p in (exc.context, exc.problem) if p]
    what = "unsupported YAML" if isinstance(exc, ConstructorError) else "YAML syntax error"
    message = f"{what}: " + (", ".join(parts) if parts else "cannot parse")
    if mark is None:
        return ConfigIssue(path, None, None, message)
    return ConfigIssue(path, mark.line + 1, mark.column + 1, message)


def _duplicate_keys(path: Path, root: Node) -> list[ConfigIssue]:
    """PyYAML keeps the last of two equal keys without a word; we refuse them."""
    issues: list[ConfigIssue] = []
    seen_nodes: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue  # an alias to a node already checked
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            first_line: dict[str, int] = {}
            for key, value in node.value:
                stack.append(value)
                if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
                    continue
                if key.value in first_line:
                    issues.append(
                        ConfigIssue(
                            path,
                            key.start_mark.line + 1,
                            key.start_mark.column + 1,
                            f"duplicate key '{key.value}' (first given on line "
                            f"{first_line[key.value]})",
                        )
                    )
                else:
                    first_line[key.value] = key.start_mark.line + 1
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return issues


@dataclass(frozen=True, slots=True)
class Located:
    """Where a data location is in the file, and the part of the location
    that names real keys and indexes (union tags left out)."""

    line: int
    column: int
    shown: Loc


def locate(root: Node | None, loc: Loc, *, at_key: bool = False) -> Located:
    """Find the node for a pydantic-style ``loc`` in a composed YAML tree.

    Parts that name no key here are skipped (pydantic puts the tag of a
    discriminated union into the location), so the walk stops at the
    deepest node that exists: for a missing key that is the mapping that
    should hold it. A mapping or list reached through a key is reported at
    the key's line (``door:``), a scalar at its own position; with
    ``at_key`` the key itself is reported (for an unknown key).
    """
    if root is None:
        return Located(1, 1, ())
    node: Node = root
    key_node: ScalarNode | None = None
    shown: list[str | int] = []
    for part in loc:
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value == str(part):
                    node, key_node = value, key
                    shown.append(part)
                    break
        elif (
            isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
        ):
            node, key_node = node.value[part], None
            shown.append(part)
    mark = node.start_mark
    if key_node is not None and (at_key or not isinstance(node, ScalarNode)):
        mark = key_node.start_mark
    return Located(mark.line + 1, mark.column + 1, tuple(shown))
