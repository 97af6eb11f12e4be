"""YAML reading: 1.2 scalars, safe construction, locating errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from siteconfig.errors import Loc
from siteconfig.yamlio import locate, read_yaml


def _read(tmp_path: Path, text: str) -> object:
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    doc, issues = read_yaml(path)
    assert issues == []
    assert doc is not None
    return doc.data


def test_scalars_resolve_like_yaml_1_2(tmp_path: Path) -> None:
    data = _read(
        tmp_path,
        "t: 23:30\nn: no\ny: yes\no: on\nb: true\nf: False\nd: 010\nh: 0x44\noc: 0o17\n"
        "x: 1.5\ne: 1e3\ninf: .inf\nday: 2024-01-01\nnull1: ~\nnull2:\nneg: -3\n",
    )
    assert data == {
        "t": "23:30",
        "n": "no",
        "y": "yes",
        "o": "on",
        "b": True,
        "f": False,
        "d": 10,
        "h": 0x44,
        "oc": 0o17,
        "x": 1.5,
        "e": 1000.0,
        "inf": float("inf"),
        "day": "2024-01-01",
        "null1": None,
        "null2": None,
        "neg": -3,
    }


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("a: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    doc, issues = read_yaml(path)
    assert doc is None
    (issue,) = issues
    assert issue.line == 1
    assert issue.message.startswith("unsupported YAML: could not determine a constructor")


def test_locate_walks_keys_indexes_and_skips_union_tags(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(
        "# comment\nitems:\n  - name: a\n    inner:\n      value: 1\n  - {name: b}\n",
        encoding="utf-8",
    )
    doc, _ = read_yaml(path)
    assert doc is not None
    found = locate(doc.root, ("items", 0, "some-tag", "inner", "value"))
    assert (found.line, found.column, found.shown) == (5, 14, ("items", 0, "inner", "value"))
    # A mapping reached through a key is reported at the key ...
    assert locate(doc.root, ("items", 0, "inner")).line == 4
    # ... a missing key at the mapping that should hold it ...
    assert locate(doc.root, ("items", 0, "inner", "missing")).line == 4
    assert locate(doc.root, ("items", 1, "missing")).line == 6
    # ... and an unknown key at the key itself.
    assert locate(doc.root, ("items", 0, "name"), at_key=True).column == 5
    assert locate(None, ("x",)).line == 1


def test_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"id: \xff\xfe\n")
    doc, issues = read_yaml(path)
    assert doc is None
    assert "not UTF-8" in issues[0].message
    assert issues[0].line is None


_KEYS = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)


def _trees(leaves: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, min_size=1, max_size=3)
            | st.dictionaries(_KEYS, children, min_size=1, max_size=3)
        ),
        max_leaves=12,
    )


def _leaf_paths(data: object, prefix: Loc = ()) -> list[tuple[Loc, object]]:
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in _leaf_paths(value, (*prefix, key))]
    if isinstance(data, list):
        return [p for index, item in enumerate(data) for p in _leaf_paths(item, (*prefix, index))]
    return [(prefix, data)]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(tree=_trees(st.integers(min_value=0, max_value=10**6)), flow=st.booleans())
def test_every_leaf_is_located_where_it_is_written(tree: object, flow: bool) -> None:
    # Leaves are made unique tokens, so the line and column can be checked
    # against the text alone, independently of the node tree.
    counter = iter(range(10**6))

    def tokens(data: object) -> object:
        if isinstance(data, dict):
            return {key: tokens(value) for key, value in data.items()}
        if isinstance(data, list):
            return [tokens(item) for item in data]
        return f"tok{next(counter):04d}"

    data = tokens(tree)
    text = yaml.safe_dump(data, default_flow_style=flow, width=60)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.yaml"
        path.write_text(text, encoding="utf-8")
        doc, issues = read_yaml(path)
    assert issues == []
    assert doc is not None
    lines = text.splitlines()
    for loc, token in _leaf_paths(data):
        found = locate(doc.root, loc)
        assert found.shown == loc
        assert isinstance(token, str)
        assert lines[found.line - 1][found.column - 1 :].startswith(token), (text, loc)
