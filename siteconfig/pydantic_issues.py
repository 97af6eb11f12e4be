"""Turning pydantic validation errors and located findings into issues with lines."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from protocol.ids import ID_PATTERN
from siteconfig import device_models, site_models
from siteconfig.errors import ConfigIssue, Finding, FindingsError, Loc, Severity, format_loc
from siteconfig.fields import ID_HELP
from siteconfig.yamlio import YamlDocument, locate

_SCALARS: Final = (str, int, float, bool, type(None))


def issues_from_findings(
    doc: YamlDocument, findings: Iterable[Finding], base: Loc = ()
) -> list[ConfigIssue]:
    issues = []
    for finding in findings:
        where = locate(doc.root, base + finding.loc)
        prefix = f"{format_loc(where.shown)}: " if where.shown else ""
        issues.append(
            ConfigIssue(
                doc.path, where.line, where.column, prefix + finding.message, finding.severity
            )
        )
    return issues


def issues_from_validation_error(doc: YamlDocument, exc: ValidationError) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    errors = exc.errors()
    for error in errors:
        if _cascade(error, errors):
            continue
        found = _findings_in(error)
        if found is not None:
            issues.extend(issues_from_findings(doc, found, tuple(error["loc"])))
        else:
            issues.append(_issue(doc, error))
    return issues


def _cascade(error: ErrorDetails, errors: Sequence[ErrorDetails]) -> bool:
    """A list too short only because its own items failed ("at least 1 item
    after validation, not 0") is not a problem of its own."""
    if error["type"] != "too_short":
        return False
    loc = tuple(error["loc"])
    return any(
        len(other["loc"]) > len(loc) and tuple(other["loc"][: len(loc)]) == loc for other in errors
    )


def _findings_in(error: ErrorDetails) -> Sequence[Finding] | None:
    cause = error.get("ctx", {}).get("error")
    return cause.findings if isinstance(cause, FindingsError) else None


def _issue(doc: YamlDocument, error: ErrorDetails) -> ConfigIssue:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx", {}))
    value = error["input"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        loc += (str(ctx.get("discriminator", "kind")).strip("'"),)
    where = locate(doc.root, loc, at_key=kind == "extra_forbidden")
    shown = where.shown
    if kind == "missing" or kind == "union_tag_not_found":
        message = f"missing required key '{loc[-1]}'" if loc else "missing required value"
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        message = f"unknown key '{key}'" + _suggestion(key)
        shown = shown[:-1]
    elif kind == "union_tag_invalid":
        message = (
            f"unknown {loc[-1]} {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
        )
    elif kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        message = f"{value!r} is not a valid id: {ID_HELP}"
    elif kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
    else:
        message = error["msg"]
        if isinstance(value, _SCALARS):
            message += f" (got {_short_repr(value)})"
    prefix = f"{format_loc(shown)}: " if shown else ""
    return ConfigIssue(doc.path, where.line, where.column, prefix + message, Severity.ERROR)


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggestion(key: str) -> str:
    close = difflib.get_close_matches(key, _known_keys(), n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""


@cache
def _known_keys() -> tuple[str, ...]:
    """Every key any configuration model accepts (for "did you mean")."""
    keys: set[str] = set()
    for module in (site_models, device_models):
        for item in vars(module).values():
            if isinstance(item, type) and issubclass(item, BaseModel):
                keys.update(item.model_fields)
    return tuple(sorted(keys))
