"""Storage: the SQL schema (models), engines and migrations (engine, migrations), the store API that
takes a session and never commits (store), and the read-only query runner behind `button sql` (readonly).
"""
