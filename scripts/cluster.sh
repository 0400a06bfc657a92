#!/usr/bin/env sh
# Builds the release binary and runs four validators as four `lazai node` processes on
# 127.0.0.1 (`lazai devnet --validators 4 --processes`). Extra arguments go to that command,
# e.g. `scripts/cluster.sh --data-dir .cluster --base-port 8545`.
set -eu
cd "$(dirname "$0")/.."
cargo build --release -p lazai-cli --bin lazai
exec "${CARGO_TARGET_DIR:-target}/release/lazai" devnet --validators 4 --processes "$@"
