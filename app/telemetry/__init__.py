"""Metrics, structured logs and the audit trail (never anything biometric)."""
