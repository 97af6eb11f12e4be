"""``dorm rules backtest``: replay stored events through the rules, print the alerts."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = subparsers.add_parser("rules", help="safety-alert rules")
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    backtest = rules_sub.add_parser(
        "backtest",
        help="replay stored events through the rules and print the alerts",
        description=(
            "Replay the stored events between two times through the rules engine and "
            "print the alerts it would raise."
        ),
    )
    backtest.add_argument(
        "--from",
        dest="start",
        required=True,
        type=_when,
        help="start time (ISO 8601; UTC when no offset)",
    )
    backtest.add_argument(
        "--to",
        dest="end",
        required=True,
        type=_when,
        help="end time (ISO 8601; UTC when no offset)",
    )
    backtest.add_argument(
        "--rules", help="rules YAML overriding the shipped defaults (default: the defaults)"
    )
    backtest.add_argument(
        "--database-url", help="database to read (default: the server's DORM_DATABASE_URL)"
    )
    backtest.add_argument("--json", action="store_true", help="print JSON lines, one per signal")
    backtest.set_defaults(handler=run_backtest)


def run_backtest(args: argparse.Namespace) -> int:
    from rules.backtest import NOT_BACKTESTABLE, backtest, ordered
    from rules.config import load_rules
    from server.db.engine import make_engine
    from server.settings import Settings
    from siteconfig.errors import ConfigError

    if args.end <= args.start:
        print("dorm rules backtest: --to must be after --from", file=sys.stderr)
        return 2
    try:
        config = load_rules(args.rules)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    url = args.database_url or Settings().database_url
    database = make_engine(url)
    try:
        signals, counters = backtest(database, args.start, args.end, config)
    finally:
        database.dispose()
    signals = ordered(signals)
    if args.json:
        for s in signals:
            print(
                json.dumps(
                    {
                        "event_time": s.event_time.isoformat(),
                        "rule": s.rule,
                        "subject": s.subject,
                        "kind": s.kind.value,
                        "severity": s.severity.value,
                        "level": s.level.value,
                        "building": s.building,
                        "room": s.room,
                        "delayed": s.delayed,
                        "message": s.message,
                        "params": dict(s.params),
                        "evidence": list(s.evidence),
                    }
                )
            )
        return 0
    print(f"{'event time (UTC)':20} {'rule':24} {'kind':5} {'severity':8} {'subject':36} message")
    for s in signals:
        mark = " (delayed)" if s.delayed else ""
        print(
            f"{s.event_time:%Y-%m-%d %H:%M:%S} {s.rule:24} {s.kind.value:5} "
            f"{s.severity.value:8} {s.subject:36} {s.message}{mark}"
        )
    raised = sum(1 for s in signals if s.kind.value == "raise")
    print(
        f"{len(signals)} signal(s), {raised} raised, from {counters.get('events', 0)} event(s); "
        f"not backtestable (not stored): {', '.join(NOT_BACKTESTABLE)}"
    )
    return 0
