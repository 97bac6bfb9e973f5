"""Segments: rule trees over profiles, scores and activity, counted and previewed in SQL."""
