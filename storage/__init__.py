"""The only place with SQL: migrations, the connection, and small repository functions."""

from storage.db import Database, SchemaTooNewError, StorageError

__all__ = ["Database", "SchemaTooNewError", "StorageError"]
