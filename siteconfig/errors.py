"""What a configuration check reports, and the package's one exception root.

A :class:`ConfigIssue` names the file, the 1-based line and column and says
what is wrong, so tools can print it the way a compiler does
(``path:line:col: error: message``). :class:`ConfigError` carries every issue
found, not just the first.

:class:`FindingsError` is internal plumbing: the models' own cross-field
checks raise it from pydantic validators with the location of each problem
*relative to the model*, and the loader turns those locations into lines.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

Loc = tuple[str | int, ...]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in one file. ``line``/``column`` are 1-based; None when the
    problem concerns the whole file (it cannot be read, it is missing)."""

    path: Path
    line: int | None
    column: int | None
    message: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """``path:line:col: severity: message``, the compiler convention."""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.severity.value}: {self.message}"

    def __str__(self) -> str:
        return self.format()


def sort_key(issue: ConfigIssue) -> tuple[str, int, int, str]:
    return (str(issue.path), issue.line or 0, issue.column or 0, issue.message)


class ConfigError(ValueError):
    """The configuration is invalid; ``issues`` holds every problem found."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(sorted(issues, key=sort_key))
        errors = [issue for issue in self.issues if issue.is_error]
        shown = errors or list(self.issues)
        head = f"{len(errors)} configuration error(s)"
        body = "\n".join(issue.format() for issue in shown[:20])
        more = f"\n... and {len(shown) - 20} more" if len(shown) > 20 else ""
        super().__init__(f"{head}:\n{body}{more}" if body else head)


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found by a check, located by a pydantic-style path (``loc``)
    inside one document rather than by a line."""

    loc: Loc
    message: str
    severity: Severity = Severity.ERROR


class FindingsError(ValueError):
    """Raised from a model validator to report several located findings at once.

    pydantic keeps the exception in the error's context, so the loader can
    point each finding at its own line; code that builds models directly sees
    an ordinary ``pydantic.ValidationError`` with all findings in its text.
    """

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        text = "; ".join(
            f"{format_loc(f.loc)}: {f.message}" if f.loc else f.message for f in self.findings
        )
        super().__init__(text)


def raise_findings(findings: Sequence[Finding]) -> None:
    """Raise :class:`FindingsError` if any finding is an error."""
    if any(f.severity is Severity.ERROR for f in findings):
        raise FindingsError([f for f in findings if f.severity is Severity.ERROR])


def format_loc(loc: Loc) -> str:
    """``('buildings', 0, 'id')`` -> ``buildings[0].id``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
