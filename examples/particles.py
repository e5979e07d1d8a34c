"""A particle step shipped with its task: typed struct arrays, a uniform struct, tolerance quorum.

Start a cluster in one terminal (``shardy up``), then run ``python examples/particles.py``:
the workers have never seen this kernel; it travels with the task and is checked by hash.
"""

from __future__ import annotations

import numpy as np

import shardy
from shardy import layout as L

Particle = L.struct("Particle", [("pos", L.vec3(L.f32)), ("vel", L.vec3(L.f32))])
Params = L.struct("Params", [("dt", L.f32), ("gravity", L.f32), ("n", L.u32)])

SOURCE = """
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n) { return; }
    var p = particles[i];
    p.vel.y = p.vel.y - params.gravity * params.dt;
    p.pos = p.pos + p.vel * params.dt;
    if (p.pos.y < 0.0) {  // bounce off the floor
        p.pos.y = -p.pos.y;
        p.vel.y = -p.vel.y;
    }
    moved[i] = p;
}
"""

STEP = shardy.WgslKernel(
    label="particle-step",
    source=SOURCE,
    inputs=[shardy.Buffer("particles", L.array(Particle), count="n")],
    output=shardy.Buffer("moved", L.array(Particle), count="n"),
    uniforms=Params,
    params={"dt": 0.01, "gravity": 9.81, "n": 1},
    grid=["n"],
    workgroup_size=(64, 1, 1),
    determinism=shardy.Determinism("tolerance", atol=1e-5, rtol=1e-5),
)


def reference(particles: np.ndarray, dt: float, gravity: float) -> np.ndarray:
    """The same step in numpy (float32)."""
    pos, vel = particles["pos"][:, :3].copy(), particles["vel"][:, :3].copy()
    vel[:, 1] -= np.float32(gravity) * np.float32(dt)
    pos += vel * np.float32(dt)
    low = pos[:, 1] < 0
    pos[low, 1], vel[low, 1] = -pos[low, 1], -vel[low, 1]
    return np.concatenate([pos, vel], axis=1)


def make(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random particles as a structured array of the layout's dtype."""
    rng = np.random.default_rng(seed)
    p = np.zeros(n, L.numpy_dtype(L.array(Particle), count=n).base)
    p["pos"][:, :3] = rng.uniform(0, 1, (n, 3))
    p["vel"][:, :3] = rng.uniform(-1, 1, (n, 3))
    return p


def main(n: int = 1000) -> None:
    particles = make(n)
    params = {"n": n, "dt": 0.01, "gravity": 9.81}
    result = shardy.submit(STEP, {"particles": particles}, params=params).get(timeout=120)
    got = np.concatenate([result.output["pos"][:, :3], result.output["vel"][:, :3]], axis=1)
    want = reference(particles, 0.01, 9.81)
    print(f"{STEP.name[:17]}…: {n} particles stepped, verified by {len(result.attestations)} "
          f"workers; max |error| vs numpy {np.abs(got - want).max():.2e}")  # fmt: skip
    assert np.allclose(got, want, atol=1e-5), "the verified output disagrees with numpy"


if __name__ == "__main__":
    main()
