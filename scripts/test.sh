#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, clippy, and all unit and
# integration tests (SQLite + in-process store, PostgreSQL + Redis, cross-app tests, the
# journey in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The browser journey starts these through scripts/platform.sh (debug build).
cargo build -p tongyi-idp -p tongyi-portal -p tongyi-subsystems --bins
cargo nextest run --workspace --all-features --no-fail-fast
