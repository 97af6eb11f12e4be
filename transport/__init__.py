"""Getting messages to a broker without losing them.

:mod:`transport.outbox` is a durable SQLite (WAL) queue: a message is written
before it is published and deleted only after the broker acknowledged it.
:mod:`transport.publisher` drains an outbox through a paho-mqtt client with a
bounded in-flight window. Edge agents and gateways both use them.
"""
