"""Poseidon: the generator against the reference vectors, Python against the circuit."""

from __future__ import annotations

from shardy.zk import Circuit, commitment, poseidon
from shardy.zk.poseidon_params import (
    BLS12_381_R,
    CIRCOM_PATH,
    PYTHON_PATH,
    generate,
    render_circom,
    render_python,
    round_numbers,
)


def _permute(params, state):  # the reference permutation, written plainly for any width
    p, t, k = params.prime, params.t, 0
    half = params.full_rounds // 2
    for rnd in range(params.full_rounds + params.partial_rounds):
        state = [(x + params.round_constants[k + i]) % p for i, x in enumerate(state)]
        k += t
        if rnd < half or rnd >= half + params.partial_rounds:
            state = [pow(x, 5, p) for x in state]
        else:
            state[0] = pow(state[0], 5, p)
        state = [sum(m * x for m, x in zip(row, state, strict=True)) % p for row in params.mds]
    return state


def test_round_numbers_match_the_reference_table() -> None:
    assert round_numbers(BLS12_381_R, 2) == (8, 56)
    assert round_numbers(BLS12_381_R, 3) == (8, 57)
    assert round_numbers(BLS12_381_R, 5) == (8, 60)


def test_generator_reproduces_hadeshash_vector_width_3() -> None:
    params = generate(BLS12_381_R, 3)
    assert _permute(params, [0, 1, 2]) == [
        0x28CE19420FC246A05553AD1E8C98F5C9D67166BE2C18E9E4CB4B4E317DD2A78A,
        0x51F3E312C95343A896CFD8945EA82BA956C1118CE9B9859B6EA56637B4B1DDC4,
        0x3B2B69139B235626A0BFB56C9527AE66A7BF486AD8C11C14D1DA0C69BBE0F79A,
    ]


def test_generator_reproduces_hadeshash_vector_width_5() -> None:
    params = generate(BLS12_381_R, 5)
    out = _permute(params, [0, 1, 2, 3, 4])
    assert out[0] == 0x2A918B9C9F9BD7BB509331C81E297B5707F6FC7393DCEE1B13901A0B22202E18


def test_committed_constants_are_the_generator_output() -> None:
    params = generate()
    assert (params.t, params.full_rounds, params.partial_rounds) == (2, 8, 56)
    assert CIRCOM_PATH.read_text() == render_circom(params)
    assert PYTHON_PATH.read_text() == render_python(params)


def test_fast_permutation_matches_reference_form() -> None:
    params = generate()
    for x in (0, 1, 42, BLS12_381_R - 1):
        assert poseidon(x) == _permute(params, [0, x])[0]


def test_python_poseidon_equals_the_circuit(circuit: Circuit) -> None:
    for secret in (1, 2**200 + 17, BLS12_381_R - 1):
        inputs = {"taskId": 1, "seed": 2, "outputLen": 3, "resultDigest": 4,
                  "workerCommitment": commitment(secret), "workerSecret": secret}  # fmt: skip
        witness = circuit.witness(inputs)  # the circuit asserts commitment == Poseidon(secret)
        assert witness[5] == poseidon(secret)
