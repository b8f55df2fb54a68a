#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, clippy, and all unit and
# integration tests (SQLite + in-process store, PostgreSQL + Redis, cross-app tests, the
# journey in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# Supply chain (deny.toml): licences, duplicate and banned crates, and sources always; known
# vulnerabilities when the RustSec advisory database can be fetched (it lives on GitHub). A
# machine that cannot reach it but fetched it before checks against that copy.
if timeout 120 cargo deny fetch db >/dev/null 2>&1; then
  cargo deny check
elif compgen -G "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/*/crates" >/dev/null; then
  echo "test: advisory database not refreshed (no network); checking against the local copy" >&2
  cargo deny check --disable-fetch
else
  echo "test: NO ADVISORY CHECK: the RustSec database cannot be fetched from GitHub here;" >&2
  echo "test: checking licences, bans and sources only" >&2
  cargo deny check licenses bans sources
fi
# The browser journey starts these through scripts/platform.sh (debug build).
cargo build -p tongyi-idp -p tongyi-portal -p tongyi-subsystems --bins
cargo nextest run --workspace --all-features --no-fail-fast
