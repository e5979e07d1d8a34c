"""The SQL state store: models, sessions and Alembic migrations."""

from shardy.store.db import Store
from shardy.store.models import (
    AttestationBatch,
    Base,
    DeadLetter,
    Replica,
    Task,
    VerifierKey,
    Worker,
)

__all__ = [
    "AttestationBatch",
    "Base",
    "DeadLetter",
    "Replica",
    "Store",
    "Task",
    "VerifierKey",
    "Worker",
]
