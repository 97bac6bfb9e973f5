"""Audience exports: always for a purpose, always through eligibility."""
