#!/usr/bin/env bash
# Builds and runs the embedded demo platform: the IdP, the portal and the two subsystems,
# each in the background, until Ctrl-C (or TERM) stops them all.
#
#   scripts/platform.sh                     release build (default)
#   TONGYI_BUILD=debug scripts/platform.sh  debug build: quicker to compile, slower to run
#   TONGYI_NO_BUILD=1 scripts/platform.sh   run what is already built
#
# Logs go to data/logs/<app>.log. The IdP creates data/idp.db on first start and seeds the
# demo accounts and clients from config/demo.toml.

set -euo pipefail

cd "$(dirname "$0")/.."

profile="${TONGYI_BUILD:-release}"
case "$profile" in
  release) cargo_flags=(--release); target_dir="target/release" ;;
  debug) cargo_flags=(); target_dir="target/debug" ;;
  *) echo "TONGYI_BUILD must be release or debug, not '$profile'" >&2; exit 2 ;;
esac
# Honour a custom cargo target directory.
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
  target_dir="$CARGO_TARGET_DIR/${target_dir#target/}"
fi

if [[ -z "${TONGYI_NO_BUILD:-}" ]]; then
  echo "Building ($profile)…"
  cargo build "${cargo_flags[@]}" -p tongyi-idp -p tongyi-portal -p tongyi-subsystems --bins
fi
for bin in idp portal subsystems; do
  if [[ ! -x "$target_dir/$bin" ]]; then
    echo "$target_dir/$bin is missing; build it first (or unset TONGYI_NO_BUILD)" >&2
    exit 1
  fi
done

mkdir -p data/logs
pids=()
names=()

stop_all() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    echo
    echo "Stopping…"
    # Only the processes this script started, each by its own pid.
    for pid in "${pids[@]}"; do
      kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
      wait "$pid" 2>/dev/null || true
    done
  fi
  echo "Stopped."
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# start NAME COMMAND... : runs COMMAND in the background with its output in data/logs/NAME.log.
start() {
  local name="$1"
  shift
  "$@" >"data/logs/$name.log" 2>&1 &
  pids+=("$!")
  names+=("$name")
}

# wait_for NAME URL : waits until URL answers 200, failing early if NAME's process died.
wait_for() {
  local name="$1" url="$2" pid="${pids[-1]}"
  for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited during start-up; last lines of data/logs/$name.log:" >&2
      tail -n 20 "data/logs/$name.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "$name did not answer $url within 60 s; see data/logs/$name.log" >&2
  exit 1
}

start idp "$target_dir/idp" serve
wait_for idp "http://127.0.0.1:8080/readyz"
start portal "$target_dir/portal" --config config/portal.toml
wait_for portal "http://127.0.0.1:8081/healthz"
start incubator "$target_dir/subsystems" --config config/incubator.toml
wait_for incubator "http://127.0.0.1:8082/healthz"
start makerspace "$target_dir/subsystems" --config config/makerspace.toml
wait_for makerspace "http://127.0.0.1:8083/healthz"

cat <<'EOF'

Tongyi demo platform is running:
  统一身份认证平台 (IdP)        http://127.0.0.1:8080
  统一门户 (portal)             http://127.0.0.1:8081   ← start here
  科技企业孵化器绩效评估系统    http://127.0.0.1:8082
  众创空间绩效评估系统          http://127.0.0.1:8083

Demo accounts (config/demo.toml):
EOF
# login_name / password / display_name of each [[account]] in the seed file.
awk -F' = ' '
  /^\[\[account\]\]/ { if (login != "") print_account(); login = ""; pw = ""; name = ""; grants = "" }
  /^\[\[/ && !/^\[\[account\]\]/ { if (login != "") print_account(); login = "" }
  $1 == "login_name" { login = $2 }
  $1 == "password" { pw = $2 }
  $1 == "display_name" { name = $2 }
  $1 == "grants" { grants = $2 }
  function print_account() {
    gsub(/"/, "", login); gsub(/"/, "", pw); gsub(/"/, "", name)
    printf "  %-12s %-16s %s%s\n", login, pw, name, (grants != "" ? "  grants " grants : "")
  }
  END { if (login != "") print_account() }
' config/demo.toml
cat <<'EOF'

Logs: data/logs/*.log. Press Ctrl-C to stop everything.
EOF

# Runs until Ctrl-C/TERM, or until one of the apps exits (then the others are stopped too).
set +e
wait -n "${pids[@]}"
status=$?
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "${names[$i]} exited (status $status); see data/logs/${names[$i]}.log" >&2
  fi
done
exit "$status"
