#!/usr/bin/env bash
# One entry point that sets everything up on a fresh machine, then runs the job.
#   ./dev.sh demo [--workers N --tasks M]   the main job: a local cluster verifies a workload
#   ./dev.sh test [pytest args]             the test suite
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    command -v apt-get >/dev/null || { echo "please install: $*" >&2; return 1; }
    [ -n "${_APT_UPDATED:-}" ] || { as_root apt-get update -qq; _APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_system() {
    # a Vulkan driver for wgpu: Mesa's lavapipe runs compute shaders on the CPU
    if ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 && [ -z "${VK_DRIVER_FILES:-}" ] \
        && [ -z "${VK_ICD_FILENAMES:-}" ]; then
        echo "installing a Vulkan driver (mesa-vulkan-drivers)…"
        apt_install mesa-vulkan-drivers libvulkan1
    fi
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
}

ensure_venv() {
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    local stamp="$VENV/.installed-$1"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "installing Python dependencies into .venv…"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        if [ "$1" = dev ]; then
            "$VENV/bin/python" -m pip install -q -e ".[dev]"
        else
            "$VENV/bin/python" -m pip install -q -e .
        fi
        touch "$stamp"
    fi
}

ensure_browser() {
    # headless Chromium and its driver for the Flower page test (Debian's, no download at run time)
    { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 \
        || apt_install chromium chromium-driver || echo "no chromium: the Flower page test will skip"
}

ensure_node_tools() {
    # circom2 and snarkjs: build- and test-time checkers, run as separate processes
    if [ -f circuits/package-lock.json ] && [ ! -d circuits/node_modules ]; then
        command -v npm >/dev/null || apt_install nodejs npm
        echo "installing circuit tools (npm ci in circuits/)…"
        npm ci --prefix circuits --no-audit --no-fund --loglevel=error
    fi
    # js-libp2p for the interop test (a peer of another implementation)
    if [ -f tests/p2p/js/package-lock.json ] && [ ! -d tests/p2p/js/node_modules ]; then
        echo "installing js-libp2p for the interop test (npm ci in tests/p2p/js/)…"
        npm ci --prefix tests/p2p/js --no-audit --no-fund --loglevel=error
    fi
    # the browser worker's prover (@noble/curves) and its bundler (esbuild)
    if [ -f workers/browser/package-lock.json ] && [ ! -d workers/browser/node_modules ]; then
        echo "installing the browser worker's packages (npm ci in workers/browser/)…"
        npm ci --prefix workers/browser --no-audit --no-fund --loglevel=error
    fi
}

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
cmd="${1:-}"
shift || true
case "$cmd" in
    demo)
        ensure_system
        ensure_venv run
        exec "$VENV/bin/shardy" demo "$@"
        ;;
    test)
        ensure_system
        ensure_venv dev
        ensure_node_tools
        ensure_browser
        set +e
        "$VENV/bin/python" -m pytest "$@"
        rc=$?
        set -e
        if [ "$rc" = 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi
        exit "$rc"
        ;;
    *)
        echo "usage: ./dev.sh demo [shardy demo options] | ./dev.sh test [pytest args]" >&2
        exit 2
        ;;
esac
