"""Logins, sessions, the audit log and idempotent creates."""
