"""The audit trail of reads of personal data (see server.db.audit and docs/security.md)."""

from server.audit.recorder import AuditRecord, record, scope_of

__all__ = ["AuditRecord", "record", "scope_of"]
