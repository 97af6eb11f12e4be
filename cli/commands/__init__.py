"""One module per ``dorm`` subcommand; each exposes ``register(subparsers)``."""
