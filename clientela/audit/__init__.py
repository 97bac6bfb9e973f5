"""The audit trail: who read or wrote which fields of which person, and when."""
