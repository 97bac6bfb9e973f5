"""Encrypted backups of the store and restores that keep erased people erased."""
