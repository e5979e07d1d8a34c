"""Shardy's proof checked with py_ecc's pure-Python BLS12-381 pairing (the slow reference;
its projective-coordinate form: 0.6 s here where the affine one took 25 s, as independent)."""

from __future__ import annotations

from typing import Any

from py_ecc import optimized_bls12_381 as curve
from py_ecc.optimized_bls12_381.optimized_pairing import miller_loop

from shardy.zk import verify


def _g1(point: list[str]):
    p = (curve.FQ(int(point[0])), curve.FQ(int(point[1])), curve.FQ.one())
    assert curve.is_on_curve(p, curve.b)
    return p


def _g2(point: list[list[str]]):
    (x0, x1), (y0, y1), _ = point
    p = (curve.FQ2([int(x0), int(x1)]), curve.FQ2([int(y0), int(y1)]), curve.FQ2.one())
    assert curve.is_on_curve(p, curve.b2)
    return p


def _miller(p1, p2):
    return miller_loop(p2, p1, final_exponentiate=False)


def _vk_x(vkey: dict[str, Any], public: list[str]):
    x = _g1(vkey["IC"][0])
    for s, ic in zip(public, vkey["IC"][1:], strict=True):
        x = curve.add(x, curve.multiply(_g1(ic), int(s)))
    return x


def test_py_ecc_accepts_the_proof_and_rejects_a_changed_signal(proved, vkey_json) -> None:
    proof, public = proved
    changed = [public[0], str(int(public[1]) + 1), *public[2:]]
    assert verify(vkey_json, proof, public) is True
    assert verify(vkey_json, proof, changed) is False

    # e(-A, B) · e(α, β) · e(X, γ) · e(C, δ) = 1
    common = (
        _miller(curve.neg(_g1(proof["pi_a"])), _g2(proof["pi_b"]))
        * _miller(_g1(vkey_json["vk_alpha_1"]), _g2(vkey_json["vk_beta_2"]))
        * _miller(_g1(proof["pi_c"]), _g2(vkey_json["vk_delta_2"]))
    )
    gamma = _g2(vkey_json["vk_gamma_2"])
    good = common * _miller(_vk_x(vkey_json, public), gamma)
    bad = common * _miller(_vk_x(vkey_json, changed), gamma)
    assert curve.final_exponentiate(good) == curve.FQ12.one()
    assert curve.final_exponentiate(bad) != curve.FQ12.one()
