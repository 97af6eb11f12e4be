"""``dorm config``: check the site and device configuration, write its JSON Schema.

``dorm config validate [PATH]`` prints every issue the way a compiler does,
``path:line:col: error: message``, then a summary; it exits 0 when there
are no errors (warnings allowed unless ``--strict``) and 1 otherwise.
``dorm config schema [--out DIR]`` writes the JSON Schema files editors use;
with ``--check`` it only reports whether the committed files are stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from siteconfig.loader import CheckReport, check_path
from siteconfig.schema import stale_schemas, write_schemas

EXIT_OK = 0
EXIT_INVALID = 1

DEFAULT_CONFIG_DIR = "firmware-config"
DEFAULT_SCHEMA_DIR = "firmware-config/schema"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = subparsers.add_parser(
        "config",
        help="check the site and device configuration, write its JSON Schema",
        description="Site and device configuration (firmware-config/).",
    )
    actions = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)

    validate = actions.add_parser(
        "validate",
        help="check a configuration directory, site file or device file",
        description=(
            "Check a configuration directory (site.yaml and devices/*.yaml, with the rules "
            "across files), a site file or a device file. Prints each issue as "
            "path:line:col: severity: message. Exit status 0 when there are no errors, 1 "
            "otherwise."
        ),
    )
    validate.add_argument(
        "path",
        nargs="?",
        default=DEFAULT_CONFIG_DIR,
        help="directory, site file or device file (default: %(default)s)",
    )
    validate.add_argument(
        "--strict", action="store_true", help="treat warnings as errors (exit 1 on any issue)"
    )
    validate.set_defaults(handler=_validate)

    schema = actions.add_parser(
        "schema",
        help="write the JSON Schema of the site and device files",
        description=(
            "Write site.schema.json and device.schema.json, generated from the models, for "
            "editors (yaml-language-server) and CI."
        ),
    )
    schema.add_argument(
        "--out", default=DEFAULT_SCHEMA_DIR, help="output directory (default: %(default)s)"
    )
    schema.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the files in --out are missing or stale",
    )
    schema.set_defaults(handler=_schema)


def _validate(args: argparse.Namespace) -> int:
    report = check_path(Path(args.path))
    for issue in report.issues:
        print(issue.format())
    print(_summary(report))
    failed = bool(report.errors) or (args.strict and bool(report.warnings))
    return EXIT_INVALID if failed else EXIT_OK


def _summary(report: CheckReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    files = len(report.files)
    counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    checked = f"{files} file{'s' * (files != 1)} checked"
    verdict = "invalid" if errors else "valid"
    text = f"{report.target}: {verdict} ({counts}; {checked})"
    if report.config is not None:
        site = report.config.site
        text += (
            f"; campus '{site.campus.id}': {len(site.buildings)} buildings, "
            f"{sum(1 for _ in site.rooms())} rooms, {len(report.config.devices)} devices"
        )
    return text


def _schema(args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    if args.check:
        stale = stale_schemas(out_dir)
        for path in stale:
            print(f"{path}: out of date; run 'dorm config schema --out {out_dir}'", file=sys.stderr)
        if not stale:
            print(f"{out_dir}: schema files are up to date")
        return EXIT_INVALID if stale else EXIT_OK
    for path in write_schemas(out_dir):
        print(f"wrote {path}")
    return EXIT_OK
