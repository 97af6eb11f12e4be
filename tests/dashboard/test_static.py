"""The dashboard's static files: catalogues complete in both languages, nothing inline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

import pytest

from protocol.messages import AccessReason, AckResult, CommandAction
from rules.signals import RULE_IDS
from server.dashboard import STATIC_DIR

LANGUAGES: Final = ("zh-CN", "en")
SCRIPTS: Final = sorted((STATIC_DIR / "js").rglob("*.js"))


def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def test_both_catalogues_have_the_same_keys_and_no_empty_text() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert set(zh) == set(en)
    assert all(text.strip() for text in [*zh.values(), *en.values()])
    # zh-CN is really Chinese where it is not a symbol or an id.
    assert zh["nav.alerts"] == "告警"
    assert zh["app.title"] != en["app.title"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_id_the_pages_show_is_translated(lang: str) -> None:
    keys = set(catalogue(lang))
    wanted = {f"rule.{r}" for r in RULE_IDS}
    wanted |= {f"reason.{r.value}" for r in AccessReason}
    wanted |= {f"command.{c.value}" for c in CommandAction}
    wanted |= {f"commandStatus.{s.value}" for s in AckResult} | {"commandStatus.pending"}
    assert wanted <= keys, sorted(wanted - keys)


def test_every_literal_message_key_in_the_scripts_exists() -> None:
    keys = set(catalogue("en"))
    used = {
        key
        for path in SCRIPTS
        for key in re.findall(r"""\bt\(\s*["']([\w.]+)["']""", path.read_text("utf-8"))
    }
    assert used, "no message keys found: the pattern is wrong"
    assert used <= keys, sorted(used - keys)


def test_the_rule_ids_of_the_filter_are_the_contracts() -> None:
    common = (STATIC_DIR / "js" / "common.js").read_text("utf-8")
    block = common[common.index("export const RULES") : common.index("];", common.index("RULES"))]
    assert re.findall(r'"(\w+)"', block) == list(RULE_IDS)


@pytest.mark.parametrize("path", [STATIC_DIR / "index.html", *SCRIPTS], ids=lambda p: p.name)
def test_nothing_inline_that_a_strict_csp_would_block(path: Path) -> None:
    text = path.read_text("utf-8")
    if path.suffix == ".html":
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []
        assert re.findall(r"\son[a-z]+\s*=", text) == []
        assert "style=" not in text
    else:
        forbidden = ("innerHTML", "outerHTML", "eval(", "new Function", "insertAdjacentHTML")
        for name in (*forbidden, ".style.", 'setAttribute("style"'):
            assert name not in text, name
