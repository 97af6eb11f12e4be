"""The per-building gateway: validate, de-duplicate, store and forward upstream,
fan commands and allowlists out to devices, keep the building safe on its own."""
