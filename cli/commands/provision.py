"""``dorm provision``: broker credentials, password files, ACLs, TLS listeners, downlink keys."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    provision = subparsers.add_parser(
        "provision",
        help="write broker credentials and ACLs for every device and gateway",
        description=(
            "Read firmware-config and write, for every device and gateway, a unique "
            "broker credential, and for each broker a Mosquitto password file and ACL. "
            "Re-running keeps existing credentials; --rotate renews the named ones only."
        ),
    )
    provision.add_argument("--out", required=True, help="output directory")
    provision.add_argument(
        "--config",
        default="firmware-config",
        help="firmware-config directory (default: %(default)s)",
    )
    provision.add_argument(
        "--rotate",
        action="append",
        default=[],
        metavar="USER",
        help="give this device, gateway (or 'server') a new password; repeatable",
    )
    provision.add_argument(
        "--broker-config-dir",
        default="/mosquitto/config",
        help="where each broker finds passwd and acl (default: %(default)s)",
    )
    provision.add_argument(
        "--cert-dir",
        default="/mosquitto/certs",
        help="where each broker finds ca.crt, server.crt, server.key (default: %(default)s)",
    )
    provision.add_argument(
        "--client-certs",
        action="store_true",
        help="the TLS listener also requires a client certificate signed by ca.crt",
    )
    provision.add_argument(
        "--card-hash-key-file",
        help=(
            "file holding the site's card-hash key (the server's DORM_CARD_HASH_KEY): "
            "copied to every gate as devices/<gate>/card-hash.key"
        ),
    )
    provision.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from provisioning.brokerconf import BrokerLayout
    from provisioning.writer import ProvisionError, provision
    from siteconfig import ConfigError, load_config_dir

    try:
        campus = load_config_dir(Path(args.config))
    except ConfigError as exc:
        print(f"dorm provision: invalid configuration:\n{exc}", file=sys.stderr)
        return EXIT_ERROR
    layout = BrokerLayout(
        config_dir=args.broker_config_dir,
        cert_dir=args.cert_dir,
        require_client_certs=args.client_certs,
    )
    try:
        card_key = (
            Path(args.card_hash_key_file).read_bytes().strip() if args.card_hash_key_file else None
        )
        result = provision(
            campus, Path(args.out), rotate=args.rotate, layout=layout, card_hash_key=card_key
        )
    except (ProvisionError, OSError) as exc:
        print(f"dorm provision: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"provisioned {len(result.users)} users on brokers {', '.join(result.brokers)} "
        f"in {result.out}"
    )
    if result.created:
        print(f"new credentials: {', '.join(result.created)}")
    if result.rotated:
        print(f"rotated: {', '.join(result.rotated)}")
    return EXIT_OK
