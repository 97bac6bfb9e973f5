"""Repositories: one per aggregate, each a thin wrapper over SQLAlchemy Core statements."""
