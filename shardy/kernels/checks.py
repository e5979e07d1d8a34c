"""Checks of a shipped kernel's description (`shardy.kernels.shipped.WgslKernel`): every field
typed and bounded before anything is packed or compiled, each problem a KernelError naming it."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from shardy.errors import KernelError
from shardy.kernels import rules
from shardy.kernels.kernel import Determinism, check_param
from shardy.layout import Array, Matrix, Scalar, Struct, Vector, WgslType
from shardy.layout.types import check_name

if TYPE_CHECKING:
    from shardy.kernels.shipped import WgslKernel

MAX_INPUTS = 8
MAX_PARAMS = 64
#: WebGPU's largest uniform binding (bytes).
MAX_UNIFORM = 64 << 10
#: WebGPU's default per-workgroup limits (x, y, z and invocations).
WORKGROUP_LIMITS = (256, 256, 64, 256)

_LABEL = re.compile(r"[A-Za-z0-9 ._-]{1,64}")


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_value(name: str, v: Any) -> None:
    """`check_param`, and a shipped kernel's ints are signed 64-bit (its rules compute with
    them)."""
    check_param(name, v)
    if type(v) is int and v >= 2**63:
        raise KernelError(f"param {name!r} must fit in 64 bits, got {v}")


def leaf_scalar(t: WgslType) -> Scalar | None:
    """The one scalar type all of t's values are made of (None when mixed)."""
    if isinstance(t, Scalar):
        return t
    if isinstance(t, (Vector, Matrix)):
        return t.component
    if isinstance(t, Array):
        return leaf_scalar(t.element)
    assert isinstance(t, Struct)
    leaves = {leaf_scalar(m.type) for m in t.members}
    return leaves.pop() if len(leaves) == 1 else None


def validate(k: WgslKernel) -> None:
    """Check every field of ``k``. Raises KernelError naming the first problem."""
    from shardy.kernels.shipped import Buffer

    if not isinstance(k.source, str) or not k.source.strip():
        raise KernelError("a WgslKernel needs WGSL source text")
    if "\0" in k.source or not _utf8(k.source):
        raise KernelError("the WGSL source must be UTF-8 text without NUL characters")
    check_name(k.entry, "entry point")
    if not isinstance(k.label, str) or not _LABEL.fullmatch(k.label):
        raise KernelError("label must be 1..64 characters of letters, digits, space and ._-")
    if not 1 <= len(k.inputs) <= MAX_INPUTS:
        raise KernelError(f"a WgslKernel has 1..{MAX_INPUTS} inputs, got {len(k.inputs)}")
    if not isinstance(k.params, dict) or len(k.params) > MAX_PARAMS:
        raise KernelError(f"params must be a mapping of at most {MAX_PARAMS} names")
    for name, v in k.params.items():
        check_name(name, "param name")
        if type(v) not in (int, float):
            raise KernelError(f"param {name!r} needs an int or finite float default, got {v!r}")
        check_value(name, v)
    seen = set()
    for b in (*k.inputs, k.output):
        if not isinstance(b, Buffer) or not isinstance(b.type, WgslType):
            raise KernelError(f"inputs and output must be Buffer(name, layout type), got {b!r}")
        check_name(b.name, "buffer name")
        if b.name in seen or b.name in ("params", "WG_X", "WG_Y", "WG_Z"):
            raise KernelError(f"buffer name {b.name!r} is taken; choose another")
        seen.add(b.name)
        if b.type.runtime_sized != (b.count is not None):
            raise KernelError(
                f"buffer {b.name!r}: a runtime-sized {b.type.wgsl} needs a count rule and a "
                "fixed-size type takes none"
            )
        _rule_names(k, b.count, f"buffer {b.name!r}")
    if not 1 <= len(k.grid) <= 3 or not all(isinstance(r, str) for r in k.grid):
        raise KernelError("grid is a list of 1 to 3 rules (invocations per dimension)")
    for rule in k.grid:
        _rule_names(k, rule, "grid")
    ws = k.workgroup_size
    if len(ws) != 3 or any(type(v) is not int or v < 1 for v in ws):
        raise KernelError(f"workgroup_size must be three positive ints, got {ws!r}")
    lx, ly, lz, total = WORKGROUP_LIMITS
    if ws[0] > lx or ws[1] > ly or ws[2] > lz or ws[0] * ws[1] * ws[2] > total:
        raise KernelError(
            f"workgroup_size {ws} exceeds WebGPU's limits ({lx}, {ly}, {lz}; {total})"
        )
    if k.uniforms is not None:
        if not isinstance(k.uniforms, Struct):
            raise KernelError("uniforms must be a struct whose members are params")
        missing = [m.name for m in k.uniforms.members if m.name not in k.params]
        if missing:
            raise KernelError(f"uniform members {missing} are not params; add their defaults")
        if k.uniforms.runtime_sized or k.uniforms.size > MAX_UNIFORM:
            raise KernelError(f"uniforms must be a fixed-size struct of at most {MAX_UNIFORM} B")
        k.uniform_bytes(k.params)  # the defaults pack (types and the uniform rules)
    det = k.determinism
    if not isinstance(det, Determinism) or det.mode not in ("exact", "tolerance"):
        raise KernelError("determinism must be EXACT or Determinism('tolerance', atol, rtol)")
    for v in (det.atol, det.rtol):
        if type(v) not in (int, float) or not math.isfinite(v) or v < 0:
            raise KernelError("determinism atol and rtol must be finite numbers >= 0")
    if det.mode == "tolerance":
        leaf = leaf_scalar(k.output.type)
        if leaf is None or leaf.name not in ("f32", "f16"):
            raise KernelError("a tolerance kernel's output must be made of f32 (or f16) only")
    k.wgsl()  # the generated declarations are legal (binding checks each space)


def _rule_names(k: WgslKernel, rule: str | None, where: str) -> None:
    if rule is None:
        return
    bad = sorted(n for n in rules.names(rule) if type(k.params.get(n)) is not int)
    if bad:
        raise KernelError(f"{where}: rule {rule!r} reads {bad}, which are not integer params")
