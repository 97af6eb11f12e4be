"""``dorm token issue|verify|keygen``: dynamic QR tokens from the command line."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from protocol.keys import KeyStoreError, load_public_keys, load_signing_key, write_signing_key
from protocol.messages import PersonKind
from protocol.token_issuer import SigningKey, issue_token
from protocol.tokens import TokenError, verify_token

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
DEFAULT_KEYS_DIR = "var/keys"
DEFAULT_KID = "k1"


def _keys_dir(args: argparse.Namespace) -> Path:
    return Path(args.keys or os.environ.get("DORM_KEYS_DIR", DEFAULT_KEYS_DIR))


def _parse_time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _issue(args: argparse.Namespace) -> int:
    directory = _keys_dir(args)
    try:
        if not (directory / "CURRENT").exists() and args.kid is None:
            write_signing_key(directory, SigningKey.generate(DEFAULT_KID))
            print(f"created signing key {DEFAULT_KID!r} in {directory}", file=sys.stderr)
        key = load_signing_key(directory, args.kid)
        token = issue_token(key, args.person, PersonKind(args.kind), _parse_time(args.at))
    except (KeyStoreError, ValueError) as exc:
        print(f"dorm token issue: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(token)
    if args.qr:
        import segno

        segno.make_qr(token, error="m").save(args.qr, scale=8, border=4)
        print(f"QR code written to {args.qr}", file=sys.stderr)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    try:
        keys = load_public_keys(_keys_dir(args))
        at = _parse_time(args.at)
    except (KeyStoreError, ValueError) as exc:
        print(f"dorm token verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        claims = verify_token(args.token, keys, at)
    except TokenError as exc:
        print(f"refused: {exc.reason.value} ({exc.detail})")
        return EXIT_REFUSED
    print(
        f"valid: {claims.kind.value} {claims.subject} key={claims.kid} "
        f"nonce={claims.nonce} until={claims.expires_at.isoformat()}"
    )
    return EXIT_OK


def _keygen(args: argparse.Namespace) -> int:
    directory = _keys_dir(args)
    try:
        write_signing_key(directory, SigningKey.generate(args.kid))
    except (KeyStoreError, ValueError) as exc:
        print(f"dorm token keygen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"key {args.kid!r} written to {directory} and made current")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = subparsers.add_parser(
        "token",
        help="issue and verify dynamic QR tokens (Ed25519)",
        description=(
            "Dynamic QR tokens: 30-second steps, one step of clock skew accepted, "
            "verified with public keys only. Keys live in --keys "
            f"(default $DORM_KEYS_DIR or {DEFAULT_KEYS_DIR})."
        ),
    )
    actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)

    def keys_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--keys", help="key directory")

    issue = actions.add_parser("issue", help="print a token for a person")
    issue.add_argument("--person", required=True, help="pseudonymous person id, e.g. p-7f3a9c")
    issue.add_argument(
        "--kind", required=True, choices=[k.value for k in PersonKind], help="who the person is"
    )
    issue.add_argument("--kid", help="key id to sign with (default: the current key)")
    issue.add_argument("--at", help="issue time, ISO 8601 (default: now)")
    issue.add_argument("--qr", metavar="PNG", help="also write the token as a QR image")
    keys_option(issue)
    issue.set_defaults(handler=_issue)

    verify = actions.add_parser(
        "verify",
        help="check a token; exit 0 if valid, 1 with the reason if refused",
    )
    verify.add_argument("token", help="the token text (starts with DQ1.)")
    verify.add_argument("--at", help="check as of this time, ISO 8601 (default: now)")
    keys_option(verify)
    verify.set_defaults(handler=_verify)

    keygen = actions.add_parser("keygen", help="create a new signing key and make it current")
    keygen.add_argument("--kid", required=True, help="key id, 1-8 of [a-z0-9-]")
    keys_option(keygen)
    keygen.set_defaults(handler=_keygen)
