"""Realistic demo data (pt_BR, en_US, ru_RU), deterministic for a seed."""
