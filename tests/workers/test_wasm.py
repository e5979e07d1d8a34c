"""The wasmtime host: limits, traps, store isolation, and the reproducible committed module."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shardy.errors import PreprocessError
from shardy.workers.wasm import WasmHost, default_wasm_path

WASM_DIR = Path(__file__).resolve().parents[2] / "wasm"
COMMITTED = WASM_DIR / "shardy_preprocess.wasm"

# A hand-written module with the host ABI (one frame pointer in, a status out; the header holds
# in_len at +0, out_len at +8, params from +16, payload from +128): each export misbehaves in one
# way.
WAT = """
(module
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (func (export "alloc_bytes") (param i32) (result i32) i32.const 1024)
  (func (export "spin") (param i32) (result i32)
    (loop (br 0))
    i32.const 0)
  (func (export "count") (param $f i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store offset=128 (local.get $f) (global.get $calls))
    i32.const 0)
  (func (export "burn") (param $f i32) (result i32)
    (local $n i32)
    (local.set $n (i32.load offset=16 (local.get $f)))
    (loop (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    i32.const 0)
  (func (export "boom") (param i32) (result i32) unreachable)
  (func (export "hog") (param i32) (result i32)
    (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable)
  (func (export "status") (param $f i32) (result i32) (i32.load offset=16 (local.get $f)))
  (func (export "two_args") (param i32 i32) (result i32) i32.const 0)
  (func (export "reverse") (param $f i32) (result i32)
    (local $i i32) (local $n i32) (local $in i32)
    (local.set $n (i32.load (local.get $f)))
    (local.set $in (i32.add (local.get $f) (i32.const 128)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8
          (i32.add (i32.add (local.get $in) (local.get $n)) (local.get $i))
          (i32.load8_u
            (i32.sub (i32.add (local.get $in) (local.get $n))
                     (i32.add (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    i32.const 0))
"""


@pytest.fixture(scope="module")
def host() -> WasmHost:
    return WasmHost(WAT, fuel=200_000, max_memory=1 << 20)


def test_bytes_round_trip_through_linear_memory(host: WasmHost) -> None:
    data = bytes(range(256)) * 4
    assert host.call("reverse", data, len(data), []) == data[::-1]
    assert host.call("reverse", memoryview(bytearray(data))[1:], 1023, []) == data[1:][::-1]
    assert host.call("reverse", b"", 0, []) == b""


def test_module_that_never_returns_is_stopped_by_fuel(host: WasmHost) -> None:
    with pytest.raises(PreprocessError, match=r"'spin' ran out of fuel \(200000 units\)"):
        host.call("spin", b"", 0, [])


def test_fuel_is_reset_for_every_call(host: WasmHost) -> None:
    # Each call burns well over half the fuel: a shared tank would run dry on the second.
    for _ in range(3):
        assert host.call("burn", b"", 0, [30_000]) == b""
    with pytest.raises(PreprocessError, match="ran out of fuel"):
        host.call("burn", b"", 0, [400_000])


def test_each_call_gets_a_fresh_instance(host: WasmHost) -> None:
    first = host.call("count", b"", 4, [])
    assert first == host.call("count", b"", 4, []) == (1).to_bytes(4, "little")


def test_trap_names_function_and_code(host: WasmHost) -> None:
    with pytest.raises(PreprocessError, match=r"'boom' trapped \(unreachable\)"):
        host.call("boom", b"abc", 0, [])


def test_growing_past_the_memory_limit_is_reported_as_memory(host: WasmHost) -> None:
    with pytest.raises(PreprocessError, match=r"'hog' trapped .* memory reached the limit"):
        host.call("hog", b"", 0, [])


def test_payload_larger_than_memory_limit_is_refused_before_running(host: WasmHost) -> None:
    with pytest.raises(PreprocessError, match=r"'reverse' ran out of memory"):
        host.call("reverse", bytes(1 << 20), 1 << 20, [])


def test_nonzero_status_becomes_error(host: WasmHost) -> None:
    assert host.call("status", b"", 0, [0]) == b""
    with pytest.raises(PreprocessError, match="payload length does not fit"):
        host.call("status", b"", 0, [2])
    with pytest.raises(PreprocessError, match="ran out of memory"):
        host.call("status", b"", 0, [3])
    with pytest.raises(PreprocessError, match="unknown status 9"):
        host.call("status", b"", 0, [9])


def test_unknown_export_or_signature_is_an_error(host: WasmHost) -> None:
    with pytest.raises(PreprocessError, match="'nope': no such export"):
        host.call("nope", b"", 0, [])
    with pytest.raises(PreprocessError, match=r"'spin': .*more than 14 params \(15\)"):
        host.call("spin", b"", 0, [1] * 15)
    with pytest.raises(PreprocessError, match="'two_args' could not run: too few parameters"):
        host.call("two_args", b"", 0, [])


def test_bad_modules_and_limits_are_refused() -> None:
    with pytest.raises(PreprocessError, match="does not compile"):
        WasmHost(b"\0asm garbage", fuel=1, max_memory=1 << 20)
    with pytest.raises(PreprocessError, match="must export 'memory' and 'alloc_bytes'"):
        WasmHost('(module (memory (export "memory") 1))', fuel=1, max_memory=1 << 20)
    with pytest.raises(PreprocessError, match="fuel must be"):
        WasmHost(WAT, fuel=0, max_memory=1 << 20)
    with pytest.raises(PreprocessError, match="max_memory must lie"):
        WasmHost(WAT, fuel=1, max_memory=2**33)


def test_module_too_big_for_the_memory_limit_fails_cleanly() -> None:
    big = WAT.replace('(memory (export "memory") 1)', '(memory (export "memory") 32)')
    with pytest.raises(PreprocessError, match="'reverse' could not run: .*max_memory"):
        WasmHost(big, fuel=10_000, max_memory=1 << 20).call("reverse", b"x", 1, [])


def test_committed_module_exports_the_abi() -> None:
    host = WasmHost(fuel=10**6, max_memory=1 << 20)
    expected = {"alloc_bytes", "dealloc_bytes", "chunks", "tiles", "decode", "ema", "quantize"}
    assert expected <= set(host.exports)
    assert default_wasm_path().resolve() == COMMITTED.resolve()


def test_committed_module_checks_params_and_lengths_itself() -> None:
    # The host validates first; the module must still refuse a wrong out_len or param.
    host = WasmHost(fuel=10**6, max_memory=1 << 20)
    args = [1, 4, 4, 0, 0, 0, 0, 2**64 - 1]  # itemsize size stride offset pad count shuffle seed
    assert host.call("chunks", b"abcdefgh", 8, args) == b"abcdefgh"
    assert host.call("chunks", b"abcdefgh", 8, [1, 4, 4, 0, 0, 0, 0, -1]) == b"abcdefgh"
    with pytest.raises(PreprocessError, match="payload length does not fit"):
        host.call("chunks", b"abcdefgh", 12, args)
    with pytest.raises(PreprocessError, match="refused a parameter"):
        host.call("chunks", b"abcdefgh", 8, [0, 4, 4, 0, 0, 0, 0, 0])
    with pytest.raises(PreprocessError, match="refused a parameter"):
        host.call("chunks", b"abcdefgh", 8, [2**32 + 1, 4, 4, 0, 0, 0, 0, 0])
    with pytest.raises(PreprocessError, match="refused a parameter"):
        host.call("decode", b"ab", 8, [9, 0, 0])


def _toolchain_missing() -> str | None:
    rustc = os.environ.get("SHARDY_RUSTC", "/usr/bin/rustc")
    cargo = os.environ.get("SHARDY_CARGO", "/usr/bin/cargo")
    if not (shutil.which(rustc) and shutil.which(cargo)):
        return f"Debian rust toolchain not installed ({rustc}, {cargo})"
    sysroot = subprocess.run(
        [rustc, "--print", "sysroot"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not (Path(sysroot) / "lib/rustlib/wasm32-unknown-unknown").is_dir():
        return f"no wasm32 std under {sysroot} (apt-get install libstd-rust-dev-wasm32)"
    return None


@pytest.mark.skipif(_toolchain_missing() is not None, reason=str(_toolchain_missing()))
def test_rebuild_elsewhere_is_byte_identical_to_committed(tmp_path: Path) -> None:
    crate = tmp_path / "elsewhere" / "wasm"
    shutil.copytree(WASM_DIR, crate, ignore=shutil.ignore_patterns("target", "*.wasm"))
    out = tmp_path / "rebuilt.wasm"
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    subprocess.run(["sh", str(crate / "build.sh"), str(out)], env=env, check=True, timeout=300)
    rebuilt = hashlib.sha256(out.read_bytes()).hexdigest()
    assert rebuilt == hashlib.sha256(COMMITTED.read_bytes()).hexdigest(), (
        "wasm/shardy_preprocess.wasm is stale or the build is not reproducible; "
        "run wasm/build.sh and commit the result"
    )
