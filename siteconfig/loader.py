"""Loading configuration files and directories, with every issue located.

``load_site``, ``load_device`` and ``load_config_dir`` return models or raise
:class:`ConfigError` listing every error found. ``check_path`` is what
``dorm config validate`` uses: it never raises for a bad configuration and
reports errors and warnings alike.

Checks run in two stages, like a compiler: first each file's structure
(types, ranges, required and unknown keys, duplicates inside the file),
then the rules across files for the parts that passed the first stage.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypeVar

from pydantic import ValidationError

from protocol.ids import ID_PATTERN
from siteconfig.campus import CampusConfig
from siteconfig.crosscheck import check_device_against_site, check_gate_coverage
from siteconfig.device_models import Device, parse_device
from siteconfig.errors import ConfigError, ConfigIssue, Finding, Severity, sort_key
from siteconfig.pydantic_issues import issues_from_findings, issues_from_validation_error
from siteconfig.site_models import Site
from siteconfig.yamlio import YamlDocument, read_yaml

logger = logging.getLogger(__name__)

SITE_FILE_NAMES: Final = ("site.yaml", "site.yml")
DEVICES_DIR: Final = "devices"
YAML_SUFFIXES: Final = (".yaml", ".yml")
_ID_RE: Final = re.compile(ID_PATTERN)

M = TypeVar("M")


@dataclass(frozen=True)
class CheckReport:
    """The outcome of checking a directory, a site file or a device file."""

    target: Path
    kind: Literal["directory", "site", "device"]
    files: tuple[Path, ...]
    issues: tuple[ConfigIssue, ...]
    config: CampusConfig | None = None

    @property
    def errors(self) -> tuple[ConfigIssue, ...]:
        return tuple(issue for issue in self.issues if issue.is_error)

    @property
    def warnings(self) -> tuple[ConfigIssue, ...]:
        return tuple(issue for issue in self.issues if not issue.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors


# -- public API ------------------------------------------------------------------


def load_site(path: Path | str) -> Site:
    """Load and validate a site file; raises :class:`ConfigError`."""
    site, issues = _load_file(Path(path), Site.model_validate)
    _raise_on_errors(issues)
    if site is None:  # pragma: no cover - no model always comes with an error
        raise ConfigError(issues)
    return site


def load_device(path: Path | str) -> Device:
    """Load and validate one device file on its own (no cross-file rules);
    raises :class:`ConfigError`."""
    doc, issues = read_yaml(Path(path))
    device = _validate(doc, parse_device, issues)
    _raise_on_errors(issues)
    if device is None:  # pragma: no cover - no model always comes with an error
        raise ConfigError(issues)
    return device


def load_config_dir(path: Path | str) -> CampusConfig:
    """Load ``site.yaml`` and ``devices/*.yaml`` from a directory and apply
    the cross-file rules; raises :class:`ConfigError` listing every error.
    Warnings are logged and kept on the result."""
    report = _check_dir(Path(path))
    if report.config is None:
        raise ConfigError(report.issues)
    for warning in report.warnings:
        logger.warning("%s", warning.format())
    return report.config


def check_path(path: Path | str) -> CheckReport:
    """Check a configuration directory, a site file or a device file.

    A directory must hold ``site.yaml``; given the ``devices`` directory
    itself, its parent is checked. A file is a device file if it sits in a
    ``devices`` directory or has a top-level ``kind`` key, otherwise a site
    file. A device file next to a site file (``../site.yaml``) is also
    checked against it.
    """
    target = Path(path)
    if target.is_dir():
        if target.name == DEVICES_DIR and _site_file(target.parent) is not None:
            target = target.parent
        return _check_dir(target)
    if not target.exists():
        issue = ConfigIssue(target, None, None, "no such file or directory")
        return CheckReport(target, "site", (), (issue,))
    doc, issues = read_yaml(target)
    if _looks_like_device(target, doc):
        _, issues = _check_device_file(target, doc, issues, site=_neighbour_site(target, issues))
        return CheckReport(target, "device", (target,), _sorted(issues))
    _validate(doc, Site.model_validate, issues)
    return CheckReport(target, "site", (target,), _sorted(issues))


# -- stages ----------------------------------------------------------------------


def _load_file(path: Path, validate: Callable[[object], M]) -> tuple[M | None, list[ConfigIssue]]:
    doc, issues = read_yaml(path)
    return _validate(doc, validate, issues), issues


def _validate(
    doc: YamlDocument | None, validate: Callable[[object], M], issues: list[ConfigIssue]
) -> M | None:
    """Structural stage; appends to ``issues``."""
    if doc is None or doc.root is None:
        return None
    try:
        return validate(doc.data)
    except ValidationError as exc:
        issues.extend(issues_from_validation_error(doc, exc))
        return None


def _raise_on_errors(issues: list[ConfigIssue]) -> None:
    if any(issue.is_error for issue in issues):
        raise ConfigError(issues)


def _check_dir(root: Path) -> CheckReport:
    issues: list[ConfigIssue] = []
    files: list[Path] = []
    site_path = _site_file(root)
    site: Site | None = None
    site_doc: YamlDocument | None = None
    if site_path is None:
        issues.append(ConfigIssue(root / SITE_FILE_NAMES[0], None, None, "missing site file"))
    else:
        files.append(site_path)
        site_doc, site_issues = read_yaml(site_path)
        site = _validate(site_doc, Site.model_validate, site_issues)
        issues.extend(site_issues)
        if any(issue.is_error for issue in site_issues):
            site = None

    devices: dict[str, Device] = {}
    device_files: dict[str, Path] = {}
    gates_known = True  # False once a broken file might be a gate
    devices_dir = root / DEVICES_DIR
    if not devices_dir.is_dir():
        issues.append(ConfigIssue(devices_dir, None, None, "missing devices directory"))
    for path in _device_files(devices_dir):
        files.append(path)
        doc, file_issues = read_yaml(path)
        device, file_issues = _check_device_file(path, doc, file_issues, site=site)
        if path.stem in device_files:
            file_issues.extend(
                _located(
                    doc,
                    path,
                    Finding(
                        ("id",),
                        f"device '{path.stem}' is also defined in {device_files[path.stem].name}",
                    ),
                )
            )
        device_files.setdefault(path.stem, path)
        issues.extend(file_issues)
        if device is None or any(issue.is_error for issue in file_issues):
            gates_known = gates_known and not _may_be_gate(doc)
        elif device.id not in devices:
            devices[device.id] = device

    if site is not None and site_doc is not None and gates_known:
        # Not when a broken file may be a gate: it must not also read as
        # "this building has no entry gate".
        issues.extend(issues_from_findings(site_doc, check_gate_coverage(site, devices.values())))

    report_issues = _sorted(issues)
    config = None
    if site is not None and not any(issue.is_error for issue in report_issues):
        warnings = tuple(issue for issue in report_issues if not issue.is_error)
        config = CampusConfig(root, site, devices, warnings)
    logger.debug("checked %s: %d files, %d issues", root, len(files), len(report_issues))
    return CheckReport(root, "directory", tuple(files), report_issues, config)


def _check_device_file(
    path: Path, doc: YamlDocument | None, issues: list[ConfigIssue], *, site: Site | None
) -> tuple[Device | None, list[ConfigIssue]]:
    """Structure, id against the file name, and (with a site) the cross-file rules."""
    device = _validate(doc, parse_device, issues)
    if doc is not None and isinstance(doc.data, dict):
        raw_id = doc.data.get("id")
        if isinstance(raw_id, str) and _ID_RE.fullmatch(raw_id) and raw_id != path.stem:
            issues.extend(
                _located(
                    doc,
                    path,
                    Finding(
                        ("id",),
                        f"device id '{raw_id}' does not match the file name "
                        f"'{path.name}' (expected '{path.stem}')",
                    ),
                )
            )
    if device is not None and site is not None and doc is not None:
        issues.extend(issues_from_findings(doc, check_device_against_site(device, site)))
    return device, issues


def _neighbour_site(device_path: Path, issues: list[ConfigIssue]) -> Site | None:
    """The site file of the configuration directory a device file sits in."""
    if device_path.parent.name != DEVICES_DIR:
        return None
    site_path = _site_file(device_path.parent.parent)
    if site_path is None:
        return None
    site, site_issues = _load_file(site_path, Site.model_validate)
    errors = sum(issue.is_error for issue in site_issues)
    if site is None or errors:
        issues.append(
            ConfigIssue(
                device_path,
                None,
                None,
                f"cross-file checks skipped: {site_path} has {errors} error(s)",
                Severity.WARNING,
            )
        )
        return None
    return site


def _located(doc: YamlDocument | None, path: Path, finding: Finding) -> list[ConfigIssue]:
    if doc is None:
        return [ConfigIssue(path, None, None, finding.message, finding.severity)]
    return issues_from_findings(doc, [finding])


def _may_be_gate(doc: YamlDocument | None) -> bool:
    """Whether a device file that failed to load might describe a gate."""
    if doc is None or not isinstance(doc.data, dict):
        return True
    return doc.data.get("kind") not in ("kiosk", "room-sensor")


def _site_file(root: Path) -> Path | None:
    for name in SITE_FILE_NAMES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def _device_files(devices_dir: Path) -> list[Path]:
    if not devices_dir.is_dir():
        return []
    return sorted(
        path
        for path in devices_dir.iterdir()
        if path.suffix in YAML_SUFFIXES and path.is_file() and not path.name.startswith(".")
    )


def _looks_like_device(path: Path, doc: YamlDocument | None) -> bool:
    if path.parent.name == DEVICES_DIR:
        return True
    return doc is not None and isinstance(doc.data, dict) and "kind" in doc.data


def _sorted(issues: list[ConfigIssue]) -> tuple[ConfigIssue, ...]:
    return tuple(sorted(issues, key=sort_key))
