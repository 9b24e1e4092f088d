"""Persistence: SQLAlchemy models, queries and migrations for SQLite and PostgreSQL."""
