"""Ingest: MQTT → bounded queue → validated batches → SQL (idempotent) and time series."""

from server.ingest.pipeline import IngestPipeline
from server.ingest.stats import IngestStats, IngestStatsView
from server.ingest.writer import BatchWriter, TimeSeriesSink

__all__ = ["BatchWriter", "IngestPipeline", "IngestStats", "IngestStatsView", "TimeSeriesSink"]
