"""The safety-alert rules engine (event time, keyed state, watermarks); see docs/rules.md."""
