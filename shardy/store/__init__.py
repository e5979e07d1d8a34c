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
    Standing,
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
    "Standing",
    "Store",
    "Task",
    "VerifierKey",
    "Worker",
]
