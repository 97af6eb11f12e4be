"""A simulated campus that drives the demo, the tests and the benchmarks through
the same edge code and MQTT topics as real hardware."""
