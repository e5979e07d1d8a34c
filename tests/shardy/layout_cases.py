"""WGSL types shared by the layout tests (host-side layouts and GPU round trips)."""

from __future__ import annotations

from shardy import layout as L

INNER = L.struct("Inner", [("a", L.u32), ("b", L.vec2(L.f32))])  # align 8, size 16
SMALL = L.struct("Small", [("x", L.f32), ("y", L.f32), ("z", L.f32)])  # align 4, size 12
OUTER = L.struct(
    "Outer",
    [
        ("pos", L.vec3(L.f32)),
        ("mass", L.f32),
        ("m", L.mat3x3(L.f32)),
        ("inner", INNER),
        ("tail", L.array(L.vec3(L.i32), 2)),
        ("flag", L.u32),
    ],
)
# uniform-legal only thanks to its attributes (same layout in storage)
PADDED = L.struct(
    "Padded",
    [
        ("a", L.u32),
        L.member("inner", INNER, align=16),
        ("b", L.f32),
        L.member("small", SMALL, align=16, size=16),
        ("c", L.u32),
        L.member("ms", L.array(L.mat2x2(L.f32), 2), align=16),
    ],
)
TAILED = L.struct("Tailed", [("n", L.u32), ("items", L.array(INNER))])
HALF = L.struct(
    "Half",
    [
        ("h", L.f16),
        ("v", L.vec3(L.f16)),
        ("m", L.mat2x3(L.f16)),
        ("x", L.f32),
        ("hs", L.array(L.f16, 3)),
    ],
)
