"""Files the packages need at run time are inside them, so a wheel ships them."""

import hashlib
import tomllib
from pathlib import Path

import shardy
import workers
from shardy.kernels import SHADER_DIR, registry
from shardy.keyring import MANIFEST, read_manifest

ROOT = Path(__file__).resolve().parents[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shaders_and_wasm_resolve_inside_the_packages():
    assert Path(shardy.__file__).parent / "shaders" == SHADER_DIR
    for name in registry.names():
        assert registry.get(name).source()  # every built-in finds its WGSL through the package
    assert {p.name for p in SHADER_DIR.glob("*.wgsl")} == {
        p.name for p in (ROOT / "shaders").glob("*.wgsl")
    }
    assert Path(shardy.__file__).parent / "circuits" / "manifest.json" == MANIFEST
    for entry in read_manifest():  # the default verifier key resolves inside the package
        assert (entry.build / "attestation.zkey").is_file()
    packaged = Path(workers.__file__).parent / "shardy_preprocess.wasm"
    assert _sha(packaged) == _sha(ROOT / "wasm" / "shardy_preprocess.wasm")


def test_package_data_lists_them():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "shaders/*.wgsl" in data["package-data"]["shardy"]
    assert "circuits/build/attestation.zkey" in data["package-data"]["shardy"]
    assert "shardy_preprocess.wasm" in data["package-data"]["workers"]
