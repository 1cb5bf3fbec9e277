"""Storage: the SQL schema (models), engines and migrations (engine, migrations), the store API that
takes a session and never commits (store), and the read-only query runner behind `button sql` (readonly;
on PostgreSQL it reads as a role that can only read: pg_reader).
"""

__all__ = ["DEFAULT_DB_URL"]

DEFAULT_DB_URL = "sqlite:///button.db"  # every command's --db default: a SQLite file where it runs
