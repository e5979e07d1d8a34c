"""The SQL state store: models, sessions and Alembic migrations."""

from shardy.store.db import Store
from shardy.store.models import (
    Assignment,
    AttestationBatch,
    Base,
    DeadLetter,
    Operator,
    Replica,
    ShippedKernel,
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
    "ShippedKernel",
    "Store",
    "Task",
    "VerifierKey",
    "Worker",
]
