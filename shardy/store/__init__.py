"""The SQL state store: models, sessions and Alembic migrations."""

from shardy.store.db import Store
from shardy.store.models import Base, DeadLetter, Replica, Task, VerifierKey, Worker

__all__ = ["Base", "DeadLetter", "Replica", "Store", "Task", "VerifierKey", "Worker"]
