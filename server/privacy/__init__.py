"""Data subject requests: export a person's records, erase a departed person's data."""

from server.privacy.erase import ErasureError, erase_person
from server.privacy.export import export_csv, export_records

__all__ = ["ErasureError", "erase_person", "export_csv", "export_records"]
