"""The central server: ingest, SQL domain, time series, rules, REST API and dashboard."""
