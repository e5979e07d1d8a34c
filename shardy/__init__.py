"""Shardy: verifiable GPU compute on Celery."""

from shardy.api import Client, TaskHandle, map, submit
from shardy.attestations import Attestation
from shardy.errors import (
    AuthError,
    BlobError,
    BlobNotFound,
    BlobUnavailable,
    BrokerUnavailable,
    ConfigError,
    FrameError,
    GatewayError,
    GPUError,
    IntegrityError,
    KernelError,
    P2PError,
    PayloadError,
    PreprocessError,
    ProofError,
    QuorumError,
    ShardyError,
    StoreError,
    TaskFailed,
    TaskTimeout,
    TransientError,
    UnknownTask,
    WorkerError,
)
from shardy.kernels.kernel import Determinism
from shardy.kernels.shipped import Buffer, WgslKernel
from shardy.results import TaskStatus, VerifiedResult

__all__ = [
    "Attestation",
    "AuthError",
    "BlobError",
    "BlobNotFound",
    "BlobUnavailable",
    "BrokerUnavailable",
    "Buffer",
    "Client",
    "ConfigError",
    "Determinism",
    "FrameError",
    "GPUError",
    "GatewayError",
    "IntegrityError",
    "KernelError",
    "P2PError",
    "PayloadError",
    "PreprocessError",
    "ProofError",
    "QuorumError",
    "ShardyError",
    "StoreError",
    "TaskFailed",
    "TaskHandle",
    "TaskStatus",
    "TaskTimeout",
    "TransientError",
    "UnknownTask",
    "VerifiedResult",
    "WgslKernel",
    "WorkerError",
    "map",
    "submit",
]
__version__ = "0.1.0"
