#!/usr/bin/env bash
# Installs everything `make web`, `make serve` and `make test-web` need, idempotently:
# skips each tool that is already present at the right version. Safe to run on a fresh machine (CI).
#   - rustup target wasm32-unknown-unknown
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock (trunk would otherwise download it)
#   - trunk 0.21.14 (0.22 needs a newer rustc)
#   - Debian chromium (headless, WebGPU via SwiftShader with --enable-unsafe-webgpu)
#   - node/npm (apt, if missing) and playwright-core from tests/e2e/package.json (pinned)
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
export PATH="$HOME/.cargo/bin:$PATH"

say() { echo "[install-web-tools] $*"; }

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "wasm32-unknown-unknown: present"
else
    say "adding rustup target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

if command -v wasm-bindgen >/dev/null && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$WB_VERSION" ]; then
    say "wasm-bindgen $WB_VERSION: present"
else
    say "installing wasm-bindgen-cli $WB_VERSION (~3 min)"
    # Not --locked: one of its locked dependencies is missing from the registry mirror.
    cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

if command -v trunk >/dev/null && trunk --version | grep -q "$TRUNK_VERSION"; then
    say "trunk $TRUNK_VERSION: present"
else
    say "installing trunk $TRUNK_VERSION (~6 min)"
    cargo install trunk --locked --version "$TRUNK_VERSION" --force
fi

if [ -x /usr/bin/chromium ]; then
    say "chromium: present"
else
    say "installing chromium (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi

if command -v node >/dev/null && command -v npm >/dev/null; then
    say "node $(node --version): present"
else
    say "installing nodejs and npm (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
fi

if [ -d tests/e2e/node_modules/playwright-core ]; then
    say "playwright-core: present"
else
    say "installing playwright-core (npm ci)"
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
say "done"
