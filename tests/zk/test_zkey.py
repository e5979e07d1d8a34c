"""The zkey reader: its verifying key equals snarkjs's vkey.json; corrupt files raise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shardy.errors import ProofError
from shardy.zk import load_circuit
from shardy.zk.codec import vkey_to_json
from shardy.zk.zkey import read_zkey


def test_zkey_matches_vkey_json_and_a_wrong_one_is_refused(build_dir: Path, vkey_json,
                                                            tmp_path: Path) -> None:  # fmt: skip
    pk, vk = read_zkey(build_dir / "attestation.zkey")
    assert vkey_to_json(vk) == {k: v for k, v in vkey_json.items() if k != "vk_alphabeta_12"}
    assert (pk.n_vars, pk.n_public, pk.domain_size) == (253, 5, 256)
    for name in ("attestation.zkey", "attestation.wasm"):
        (tmp_path / name).write_bytes((build_dir / name).read_bytes())
    other = dict(vkey_json, vk_delta_2=vkey_json["vk_gamma_2"])
    (tmp_path / "vkey.json").write_text(json.dumps(other))
    with pytest.raises(ProofError, match="does not belong"):
        load_circuit(tmp_path)


@pytest.mark.parametrize("cut", [3, 40, 5000, -100])
def test_truncated_zkey_raises(build_dir: Path, tmp_path: Path, cut: int) -> None:
    data = (build_dir / "attestation.zkey").read_bytes()
    (tmp_path / "bad.zkey").write_bytes(data[:cut])
    with pytest.raises(ProofError):
        read_zkey(tmp_path / "bad.zkey")


def test_not_a_zkey_raises(tmp_path: Path) -> None:
    (tmp_path / "x.zkey").write_bytes(b"wtns" + bytes(100))
    with pytest.raises(ProofError, match="magic"):
        read_zkey(tmp_path / "x.zkey")
