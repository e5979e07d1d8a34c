"""The error tree: every error a Shardy user can meet derives from ShardyError."""

from __future__ import annotations


class ShardyError(Exception):
    """Root of every error Shardy raises to its users."""


class ConfigError(ShardyError):
    """A SHARDY_* setting is missing, malformed or inconsistent."""


class BrokerUnavailable(ConfigError):
    """No broker answers at the configured (or embedded) address."""


class FrameError(ShardyError):
    """A wire frame could not be encoded or decoded."""


class BlobError(ShardyError):
    """The blob store could not store or return a blob."""


class BlobNotFound(BlobError):
    """A referenced blob is absent (expired or never stored)."""


class IntegrityError(BlobError):
    """Bytes read back do not hash to the sha256 they were stored under."""


class PayloadError(ShardyError):
    """A payload or output is malformed or exceeds a configured limit."""


class KernelError(ShardyError):
    """A kernel is unknown, its parameters are invalid, or its WGSL does not compile."""


class WorkerError(ShardyError):
    """A worker failed to execute a replica."""


class TransientError(WorkerError):
    """A failure worth retrying (device lost, broker hiccup); retried with backoff."""


class GPUError(TransientError):
    """The GPU device failed or was lost; the device is recreated and the replica retried."""


class ReplicaTimeLimit(TransientError):
    """A replica's preprocessing and kernel ran past SHARDY_TASK_TIME_LIMIT; retried with
    backoff (another worker may be faster), dead-lettered beyond SHARDY_RETRY_MAX."""


class KernelTimeLimit(KernelError):
    """A shipped kernel ran past SHARDY_TASK_TIME_LIMIT on the GPU. Permanent: a kernel that
    does not finish is refused rather than handed to the next worker."""


class PreprocessError(WorkerError):
    """A WASM (or fallback) preprocessor trapped, ran out of fuel or memory, or got bad input."""


class ProofError(ShardyError):
    """A proof, key or public-signal list is malformed (an invalid proof is not an error)."""


class QuorumError(ShardyError):
    """A task could not reach quorum."""


class TaskFailed(ShardyError):
    """A task ended without a verified result (dead-lettered)."""

    def __init__(self, message: str, *, task_id: str, state: str) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.state = state


class TaskTimeout(ShardyError, TimeoutError):
    """`TaskHandle.get` waited longer than its timeout."""

    def __init__(self, message: str, *, task_id: str, state: str) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.state = state


class UnknownTask(ShardyError, KeyError):
    """No task with this id exists in the store."""


class StoreError(ShardyError):
    """The SQL store could not be opened or migrated."""


class AuthError(ShardyError):
    """An enrollment token, signing key, signature or session handshake was refused."""


class GatewayError(ShardyError):
    """The gateway refused a frame or closed a session; ``code`` names the reason."""

    def __init__(self, message: str, *, code: str = "refused") -> None:
        super().__init__(message)
        self.code = code


class P2PError(ShardyError):
    """The libp2p sidecar could not start, connect or publish."""


class BlobUnavailable(BlobError, TransientError):
    """The blob store (Redis) did not answer; retried with backoff like other transient errors."""
