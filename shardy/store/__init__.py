"""The SQL state store: models, sessions and Alembic migrations."""

from shardy.store.db import Store
from shardy.store.models import (
    Assignment,
    AttestationBatch,
    Base,
    DeadLetter,
    Operator,
    Replica,
    Task,
    VerifierKey,
    Worker,
)

__all__ = [
    "Assignment",
    "AttestationBatch",
    "Base",
    "DeadLetter",
    "Operator",
    "Replica",
    "Store",
    "Task",
    "VerifierKey",
    "Worker",
]
