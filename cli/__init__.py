"""The ``dorm`` command line."""
