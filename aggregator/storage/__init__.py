"""Storage: SQLAlchemy 2.x over SQLite (default) or PostgreSQL. ORM-free Core tables;
the write side is `repository`, the read side `queries`; both speak dataclasses."""
