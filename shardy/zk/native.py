"""The one door into the native curve libraries (py-arkworks-bls12381, pyblst)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from shardy.errors import ProofError

_T = TypeVar("_T")


def native(fn: Callable[..., _T], *args: Any, what: str) -> _T:
    """Call into a native library, turning any failure (even a Rust panic) into ProofError."""
    try:
        return fn(*args)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        raise ProofError(f"{what}: {exc}") from exc
