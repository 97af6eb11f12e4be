"""Provisioning: broker credentials, password files, ACLs, TLS and downlink keys.

``dorm provision --out DIR`` (see :mod:`provisioning.writer`) reads
firmware-config and writes everything the brokers, gateways, devices and the
server need to authenticate each other; docs/security.md describes the output.
"""
