#!/usr/bin/env bash
# IdP load benchmark. Documented in docs/benchmarks.md.
#
#   bench/run.sh                      # all scenarios, 10 s each, 64 connections
#   BENCH_DURATION=30 BENCH_SCENARIOS="cc_es256 cc_rs256" bench/run.sh
#
# What it does:
#   1. builds the IdP in release mode (cargo build --release -p tongyi-idp; CARGO_TARGET_DIR
#      is honored);
#   2. installs wrk with apt-get when it is missing (nothing else is downloaded);
#   3. creates a fresh SQLite database and a copy of config/idp.toml in a temporary
#      directory, picks a free port on 127.0.0.1 and registers the benchmark clients with
#      `idp client add`;
#   4. starts the IdP pinned to one core, waits for /readyz, and runs wrk pinned to the other
#      core against each scenario;
#   5. prints requests/s, p50/p99 latency, non-2xx count and the server's peak RSS per
#      scenario, its idle RSS after start-up and its RSS across a few password logins; then
#      stops the server;
#   6. measures the bounds on the same core in the same run (a bare hyper server answering the
#      same discovery and JWKS bytes, `openssl speed ecdsap256 rsa2048`, one argon2id
#      verification), prints each target of docs/benchmarks.md as a ratio to its bound, and
#      exits 3 when one is missed (BENCH_ENFORCE=0: report only).
#
# Environment (defaults in brackets):
#   BENCH_DURATION      seconds of load per scenario [10]
#   BENCH_CONNECTIONS   concurrent wrk connections [64]
#   BENCH_THREADS       wrk threads [1]: wrk is pinned to one core, more threads do not help
#   BENCH_SCENARIOS     space-separated subset of: discovery jwks cc_es256 cc_dpop_es256
#                       cc_rs256 refresh userinfo introspect login login_flow [all, in that
#                       order], or par (pushed authorization requests; only when named)
#   BENCH_BACKEND       sqlite or postgres [sqlite]; postgres creates a fresh database through
#                       BENCH_PG_URL and, unless BENCH_REDIS_URL says otherwise, runs the
#                       short-lived store on redis://127.0.0.1:6379 (production's shape)
#   BENCH_PG_URL        PostgreSQL server for BENCH_BACKEND=postgres, without a database name
#                       [postgres://postgres@127.0.0.1:5432]
#   BENCH_LOGIN_CONNECTIONS  connections of login and login_flow [1]: the login throttle
#                       counts an attempt before its password is checked, so a third
#                       concurrent attempt on one account meets the captcha step
#   BENCH_BOUNDS        1: measure the bounds and print the targets as ratios [1]
#   BENCH_ENFORCE       1: exit 3 when a measured target is missed [1]
#   BENCH_SERVER_CPU    core the IdP is pinned to [1]
#   BENCH_LOAD_CPU      core wrk (and curl) are pinned to [0]
#   BENCH_REFRESH_CHAINS  refresh tokens minted for the refresh scenario [2 x connections]
#   BENCH_DPOP_PROOFS   DPoP proofs generated for cc_dpop_es256, each sent once
#                       [25000 x duration]
#   BENCH_PORT          port to use [a free one between 20000 and 60000]
#   BENCH_READY_TIMEOUT seconds to wait for /readyz [60]
#   BENCH_LOGIN_PROBE   after the load, this many sequential password logins, printing the
#                       server's RSS after each (argon2id memory) [8; 0: skip]
#   BENCH_KEEP          1: keep the temporary directory (database, config, logs, raw wrk
#                       output) and print its path [0]
#   BENCH_REDIS_URL     run the IdP with this REDIS_URL for its short-lived store [unset:
#                       in-process store; an inherited REDIS_URL is ignored on purpose]
#   RUST_LOG            the IdP's log filter [info,sqlx=warn, its own default]
#
# Only 127.0.0.1 is loaded. Every wrk run is bounded by `timeout`, every curl by --max-time.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"

DURATION="${BENCH_DURATION:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-1}"
SCENARIOS="${BENCH_SCENARIOS:-discovery jwks cc_es256 cc_dpop_es256 cc_rs256 refresh userinfo introspect login login_flow}"
SERVER_CPU="${BENCH_SERVER_CPU:-1}"
LOAD_CPU="${BENCH_LOAD_CPU:-0}"
REFRESH_CHAINS="${BENCH_REFRESH_CHAINS:-$((2 * CONNECTIONS))}"
DPOP_PROOFS="${BENCH_DPOP_PROOFS:-$((25000 * DURATION))}"
READY_TIMEOUT="${BENCH_READY_TIMEOUT:-60}"
BACKEND="${BENCH_BACKEND:-sqlite}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
LOGIN_CONNECTIONS="${BENCH_LOGIN_CONNECTIONS:-1}"
BOUNDS="${BENCH_BOUNDS:-1}"
ENFORCE="${BENCH_ENFORCE:-1}"
KEEP="${BENCH_KEEP:-0}"
LOGIN_PROBE="${BENCH_LOGIN_PROBE:-8}"

DEMO_LOGIN="demo_person"
DEMO_PASSWORD="Demo@Person2026"
CODE_REDIRECT="http://127.0.0.1:9/bench/callback"
CODE_SCOPE="openid profile account org grants"

die() {
  echo "bench: error: $*" >&2
  exit 1
}
log() { echo "bench: $*" >&2; }

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
for v in DURATION CONNECTIONS THREADS REFRESH_CHAINS DPOP_PROOFS READY_TIMEOUT SERVER_CPU LOAD_CPU LOGIN_PROBE LOGIN_CONNECTIONS; do
  is_uint "${!v}" || die "$v must be a non-negative integer, got '${!v}'"
done
((DURATION > 0)) || die "BENCH_DURATION must be positive"
((THREADS > 0 && CONNECTIONS >= THREADS)) || die "need BENCH_CONNECTIONS >= BENCH_THREADS > 0"
[[ -n "${SCENARIOS// /}" ]] || die "BENCH_SCENARIOS is empty"
for s in $SCENARIOS; do
  case "$s" in
  discovery | jwks | cc_es256 | cc_dpop_es256 | cc_rs256 | refresh | userinfo | introspect | login | login_flow | par) ;;
  *) die "unknown scenario '$s'" ;;
  esac
done
case "$BACKEND" in sqlite | postgres) ;; *) die "BENCH_BACKEND must be sqlite or postgres, got '$BACKEND'" ;; esac
((LOGIN_CONNECTIONS > 0)) || die "BENCH_LOGIN_CONNECTIONS must be positive"
if [[ " $SCENARIOS " == *" refresh "* ]] && ((REFRESH_CHAINS <= CONNECTIONS)); then
  die "BENCH_REFRESH_CHAINS ($REFRESH_CHAINS) must exceed BENCH_CONNECTIONS ($CONNECTIONS)"
fi
if [[ " $SCENARIOS " == *" cc_dpop_es256 "* ]] && ((THREADS != 1)); then
  die "cc_dpop_es256 needs BENCH_THREADS=1: each wrk thread would send the same proofs"
fi
if [[ " $SCENARIOS " == *" userinfo "* || " $SCENARIOS " == *" introspect "* ]] && ((DURATION > 240)); then
  die "BENCH_DURATION must be at most 240 s: userinfo/introspect reuse one access token, which lives 300 s"
fi

# ---------------------------------------------------------------------------------------------
# Tools

for tool in curl taskset timeout base64 awk sed grep openssl; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

if ! command -v wrk >/dev/null; then
  log "wrk is missing; installing it with apt-get"
  command -v apt-get >/dev/null || die "wrk is missing and apt-get is not available; install wrk"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "wrk is missing; run as root or install wrk yourself"
    SUDO="sudo"
  fi
  if ! $SUDO apt-get install -y wrk; then
    $SUDO apt-get update
    $SUDO apt-get install -y wrk
  fi
  command -v wrk >/dev/null || die "wrk is still missing after apt-get install"
fi

NCPU=$(nproc)
PIN=1
if ((NCPU < 2 || SERVER_CPU >= NCPU || LOAD_CPU >= NCPU)) || [[ "$SERVER_CPU" == "$LOAD_CPU" ]]; then
  log "warning: cannot pin server to core $SERVER_CPU and wrk to core $LOAD_CPU on $NCPU cores; running unpinned"
  PIN=0
fi
on_server_cpu() { if ((PIN)); then taskset -c "$SERVER_CPU" "$@"; else "$@"; fi; }
on_load_cpu() { if ((PIN)); then taskset -c "$LOAD_CPU" "$@"; else "$@"; fi; }

# ---------------------------------------------------------------------------------------------
# Build

cd "$ROOT"
log "building the IdP (cargo build --release -p tongyi-idp)"
# json-render-diagnostics: compiler messages go to stderr as usual, artifacts come as JSON on
# stdout, so the binary path is right whatever CARGO_TARGET_DIR or cargo config say.
BUILD_JSON=$(cargo build --release -p tongyi-idp --message-format=json-render-diagnostics) ||
  die "cargo build failed"
BIN=$(printf '%s\n' "$BUILD_JSON" | grep '"reason":"compiler-artifact"' |
  grep -o '"executable":"[^"]*/idp"' | tail -n 1 | sed 's/^"executable":"//; s/"$//') || BIN=""
if [[ -z "$BIN" ]]; then
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/idp"
fi
[[ -x "$BIN" ]] || die "built binary not found at $BIN"
log "binary: $BIN"
ARGON2_COST_BIN="$(dirname "$BIN")/examples/argon2_cost"
if [[ " $SCENARIOS " == *" login "* ]]; then
  cargo build --release -p tongyi-idp --example argon2_cost >&2 || die "cargo build of the argon2_cost example failed"
  [[ -x "$ARGON2_COST_BIN" ]] || die "argon2_cost example not found at $ARGON2_COST_BIN"
fi
if [[ " $SCENARIOS " == *" login_flow "* ]]; then
  ARGON2_NEEDED=1
else
  ARGON2_NEEDED=0
fi
if ((ARGON2_NEEDED)) && [[ " $SCENARIOS " != *" login "* ]]; then
  cargo build --release -p tongyi-idp --example argon2_cost >&2 || die "cargo build of the argon2_cost example failed"
fi
BARE_HYPER_BIN="$(dirname "$BIN")/examples/bare_hyper"
if [[ "$BOUNDS" == "1" ]] && [[ " $SCENARIOS " =~ " "(discovery|jwks)" " ]]; then
  cargo build --release -p tongyi-idp --example bare_hyper >&2 || die "cargo build of the bare_hyper example failed"
  [[ -x "$BARE_HYPER_BIN" ]] || die "bare_hyper example not found at $BARE_HYPER_BIN"
fi
DPOP_PROOFS_BIN="$(dirname "$BIN")/examples/dpop_proofs"
if [[ " $SCENARIOS " == *" cc_dpop_es256 "* ]]; then
  cargo build --release -p tongyi-idp --example dpop_proofs >&2 || die "cargo build of the dpop_proofs example failed"
  [[ -x "$DPOP_PROOFS_BIN" ]] || die "dpop_proofs example not found at $DPOP_PROOFS_BIN"
fi

# ---------------------------------------------------------------------------------------------
# Scratch directory, cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tongyi-bench.XXXXXX")
SERVER_PID=""
SERVER_LOG=""
LOAD_PID=""
BARE_PID=""
PG_DB=""

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "the IdP did not stop within 10 s; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$LOAD_PID" ]]; then
    kill -TERM "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  stop_server
  if [[ -n "$BARE_PID" ]]; then
    kill -TERM "$BARE_PID" 2>/dev/null || true
    wait "$BARE_PID" 2>/dev/null || true
  fi
  if [[ -n "$PG_DB" ]]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  # Exit 3 is a missed target, reported above; anything else is a failure of the run itself.
  if ((rc != 0 && rc != 3)) && [[ -n "$SERVER_LOG" && -f "$SERVER_LOG" ]]; then
    echo "bench: last lines of the IdP log ($SERVER_LOG):" >&2
    tail -n 20 "$SERVER_LOG" >&2 || true
  fi
  if [[ "$KEEP" == "1" ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Configuration: a copy of config/idp.toml, overridden through the environment

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [[ -n "${BENCH_PORT:-}" ]]; then
  PORT="$BENCH_PORT"
  port_in_use "$PORT" && die "port $PORT is already in use"
else
  PORT=""
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! port_in_use "$candidate"; then
      PORT=$candidate
      break
    fi
  done
  [[ -n "$PORT" ]] || die "no free port found"
fi
BASE="http://127.0.0.1:$PORT"

cp "$ROOT/config/idp.toml" "$WORK/idp.toml"
# cc_dpop_es256 sends proofs generated before the run, all with the iat of their generation:
# a wide iat window keeps them fresh for the whole run (jti replay is still checked).
printf '\n[dpop]\niat_window_secs = 3600\n' >>"$WORK/idp.toml"
unset REDIS_URL TONGYI_REDIS_PREFIX TONGYI_KEK TONGYI_PRODUCTION TONGYI_IDP_CONFIG
if [[ "$BACKEND" == postgres ]]; then
  command -v psql >/dev/null || die "BENCH_BACKEND=postgres needs psql"
  PG_DB="tongyi_bench_$$"
  psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null || die "cannot create database $PG_DB at $PG_URL"
  export DATABASE_URL="$PG_URL/$PG_DB"
  BENCH_REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
else
  export DATABASE_URL="sqlite://$WORK/idp.db?mode=rwc"
fi
export TONGYI_IDP_BIND="127.0.0.1:$PORT"
export TONGYI_IDP_ISSUER="$BASE"
export TONGYI_SEED_FILE="$ROOT/config/demo.toml"
export TONGYI_PRODUCTION=false
if [[ -n "${BENCH_REDIS_URL:-}" ]]; then
  export REDIS_URL="$BENCH_REDIS_URL"
  export TONGYI_REDIS_PREFIX="tongyi-bench-$$:"
fi
export RUST_LOG="${RUST_LOG:-info,sqlx=warn}" # the IdP's own default; it logs no per-request lines

idp() { "$BIN" --config "$WORK/idp.toml" "$@"; }

# Registers a client and prints its generated secret.
add_client() {
  local out
  out=$(idp client add "$@") || die "idp client add $* failed"
  printf '%s\n' "$out" | sed -n 's/^client_secret: //p'
}

log "registering benchmark clients"
ES_SECRET=$(add_client --id bench-es --name "Benchmark ES256" --grant client_credentials \
  --auth-method client_secret_basic --alg ES256 --scope reports.read)
RS_SECRET=$(add_client --id bench-rs --name "Benchmark RS256" --grant client_credentials \
  --auth-method client_secret_basic --alg RS256 --scope reports.read)
CODE_ARGS=(--id bench-code --name "Benchmark code flow" --redirect-uri "$CODE_REDIRECT"
  --grant authorization_code --grant refresh_token --auth-method client_secret_basic
  --alg ES256 --first-party)
for s in $CODE_SCOPE; do CODE_ARGS+=(--scope "$s"); done
CODE_SECRET=$(add_client "${CODE_ARGS[@]}")
[[ -n "$ES_SECRET" && -n "$RS_SECRET" && -n "$CODE_SECRET" ]] ||
  die "could not read the client secrets printed by idp client add"

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
ES_AUTH=$(basic bench-es "$ES_SECRET")
RS_AUTH=$(basic bench-rs "$RS_SECRET")
CODE_AUTH=$(basic bench-code "$CODE_SECRET")

# ---------------------------------------------------------------------------------------------
# Start the IdP

rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
mb() { awk -v kb="${1:-0}" 'BEGIN { printf "%.1f", kb / 1024 }'; }

# Starts the IdP in the background and waits until /readyz answers 200.
start_server() {
  SERVER_LOG="$WORK/$1"
  # exec all the way down (subshell -> taskset -> idp), so that $! is the IdP's own pid.
  (
    if ((PIN)); then
      exec taskset -c "$SERVER_CPU" "$BIN" --config "$WORK/idp.toml" serve
    else
      exec "$BIN" --config "$WORK/idp.toml" serve
    fi
  ) >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + READY_TIMEOUT))
  until curl -fsS --max-time 2 -o /dev/null "$BASE/readyz" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the IdP exited during start-up (log below)"
    ((SECONDS < deadline)) || die "$BASE/readyz did not answer 200 within $READY_TIMEOUT s"
    sleep 0.2
  done
  [[ "$(readlink "/proc/$SERVER_PID/exe" 2>/dev/null)" == "$(readlink -f "$BIN")"* ]] ||
    die "pid $SERVER_PID is not the IdP binary; cannot measure its memory"
  sleep 2 # let start-up work settle before measuring idle memory
}

# The first start on the fresh database creates the signing keys and seeds the demo accounts
# from config/demo.toml, hashing their passwords with argon2id (19 MiB each). That is one-off
# work, so idle memory is measured on a second start over the now-seeded database, as after
# any restart; the first start's figure is reported too.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "first start on $BASE (creates keys, seeds demo accounts)"
start_server server-first.log
FIRST_RSS_KB=$(rss_kb "$SERVER_PID" VmRSS)
stop_server
log "first start: RSS $(mb "$FIRST_RSS_KB") MB; restarting for the measured run"
start_server server.log
IDLE_RSS_KB=$(rss_kb "$SERVER_PID" VmRSS)
log "ready; idle RSS $(mb "$IDLE_RSS_KB") MB"

# Writing 5 to clear_refs resets VmHWM (Linux >= 4.0), so each scenario gets its own peak.
reset_peak() { { echo 5 >"/proc/$SERVER_PID/clear_refs"; } 2>/dev/null; }
PEAK_NOTE="per scenario"
reset_peak || PEAK_NOTE="cumulative since start (clear_refs not writable)"

# ---------------------------------------------------------------------------------------------
# Tokens for the user-bound scenarios, minted through the real login form

JAR="$WORK/cookies.txt"
ccurl() { on_load_cpu curl -sS --max-time 10 -b "$JAR" -c "$JAR" "$@"; }
urlenc() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
    [a-zA-Z0-9.~_-]) out+="$c" ;;
    *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

AUTHORIZE_URL="$BASE/authorize?response_type=code&client_id=bench-code&redirect_uri=$(urlenc "$CODE_REDIRECT")&scope=$(urlenc "$CODE_SCOPE")&state=bench"

# Logs demo_person in once through GET /authorize -> /login form -> POST /login; the session
# cookie then lets every later /authorize go straight to the code, as in a browser.
login_once() {
  local loc page csrf req
  loc=$(ccurl -o /dev/null -w '%{redirect_url}' "$AUTHORIZE_URL")
  [[ "$loc" == "$BASE/login?req="* ]] || die "GET /authorize did not redirect to the login page (got '$loc')"
  page=$(ccurl "$loc")
  csrf=$(printf '%s' "$page" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
  req=$(printf '%s' "$page" | sed -n 's/.*name="req" value="\([^"]*\)".*/\1/p' | head -n 1)
  [[ -n "$csrf" && -n "$req" ]] || die "could not find the csrf/req fields on the login page"
  loc=$(ccurl -o /dev/null -w '%{redirect_url}' \
    --data-urlencode "csrf=$csrf" --data-urlencode "req=$req" \
    --data-urlencode "login_name=$DEMO_LOGIN" --data-urlencode "password=$DEMO_PASSWORD" \
    "$BASE/login")
  [[ "$loc" == "$BASE/authorize/resume?req="* ]] || die "POST /login did not log in (redirect '$loc')"
  # The resume request issues the first code; it is simply not used.
  ccurl -o /dev/null "$loc"
}

# Prints the JSON token response of one full authorization-code exchange.
# login_once must have run in the main shell first.
code_exchange() {
  local loc code
  loc=$(ccurl -o /dev/null -w '%{redirect_url}' "$AUTHORIZE_URL")
  code=$(printf '%s' "$loc" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
  [[ -n "$code" ]] || die "GET /authorize gave no code (redirect '$loc')"
  on_load_cpu curl -sS --max-time 10 -H "Authorization: $CODE_AUTH" \
    --data-urlencode "grant_type=authorization_code" --data-urlencode "code=$code" \
    --data-urlencode "redirect_uri=$CODE_REDIRECT" "$BASE/token"
}

user_access_token() {
  local res tok
  res=$(code_exchange)
  tok=$(printf '%s' "$res" | json_field access_token)
  [[ -n "$tok" ]] || die "code exchange returned no access token: $res"
  printf '%s' "$tok"
}

# ---------------------------------------------------------------------------------------------
# Scenarios

# Fails loudly when a scenario's request does not do what it is meant to before loading it.
check() {
  local name="$1" want="$2"
  shift 2
  local body status
  body=$(on_load_cpu curl -sS --max-time 10 -w '\n%{http_code}' "$@") || die "$name: check request failed"
  status="${body##*$'\n'}"
  body="${body%$'\n'*}"
  [[ "$status" == 200 || "$status" == 201 ]] || die "$name: check request answered $status: ${body:0:300}"
  [[ "$body" == *"$want"* ]] || die "$name: check response lacks '$want': ${body:0:300}"
}

RESULTS=()
EXTRA=()
declare -A RPS_OF=()
declare -A P50_OF=()
declare -A P99_OF=()
FLOWS_PER_S=""
LOGIN_REFUSED=0

# "busy total" jiffies of the server core, and the IdP's own user+system jiffies: their
# difference over a run is what other processes (parallel builds...) took from that core.
core_ticks() {
  awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
idp_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0; }

run_wrk() {
  local name="$1"
  shift
  local out="$WORK/wrk-$name.txt"
  local wrk_args=(--latency -t "${WRK_T:-$THREADS}" -c "${WRK_C:-$CONNECTIONS}" -d "${DURATION}s" --timeout 5s "$@")
  reset_peak || true
  log "$name: $DURATION s, ${WRK_C:-$CONNECTIONS} connections, ${WRK_T:-$THREADS} thread(s)"
  local core0 idp0 core1 idp1
  core0=$(core_ticks)
  idp0=$(idp_ticks)
  # In the background and waited for, so that a signal to this script is handled at once
  # (the cleanup trap stops wrk too); exec makes $! the pid of timeout, which passes a TERM on.
  (
    if ((PIN)); then exec taskset -c "$LOAD_CPU" timeout $((DURATION + 60)) wrk "${wrk_args[@]}"; fi
    exec timeout $((DURATION + 60)) wrk "${wrk_args[@]}"
  ) >"$out" 2>&1 &
  LOAD_PID=$!
  if ! wait "$LOAD_PID"; then
    LOAD_PID=""
    cat "$out" >&2
    die "$name: wrk failed or timed out"
  fi
  LOAD_PID=""
  kill -0 "$SERVER_PID" 2>/dev/null || die "$name: the IdP died during the run"
  core1=$(core_ticks)
  idp1=$(idp_ticks)
  local usage="- -"
  if ((PIN)); then
    # ticks: "busy total" of the server core; the IdP's own ticks are all on that core.
    usage=$(awk -v a="$core0" -v b="$core1" -v i0="$idp0" -v i1="$idp1" 'BEGIN {
      split(a, x, " "); split(b, y, " "); t = y[2] - x[2];
      if (t <= 0) { print "? ?"; exit }
      i = (i1 - i0) * 100 / t; o = (y[1] - x[1]) * 100 / t - i; if (o < 0) o = 0;
      printf "%.0f%% %.0f%%", i, o }')
  fi
  local rps p50 p99 total non2xx errs hwm
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
  p50=$(awk '$1 == "50%" { print $2 }' "$out")
  p99=$(awk '$1 == "99%" { print $2 }' "$out")
  total=$(awk '/ requests in / { print $1 }' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")
  hwm=$(rss_kb "$SERVER_PID" VmHWM)
  RPS_OF[$name]="${rps:-0}"
  P50_OF[$name]="${p50:-?}"
  P99_OF[$name]="${p99:-?}"
  RESULTS+=("$(printf '%-11s %9s %9s %9s %9s %8s %7s %8s %6s %7s' "$name" "${rps:-?}" "${p50:-?}" \
    "${p99:-?}" "${total:-?}" "${non2xx:-0}" "${errs:-0}" "$(mb "$hwm")" ${usage})")
  if grep -q '^refresh-summary:' "$out"; then
    EXTRA+=("$(grep '^refresh-summary:' "$out" | sed 's/^refresh-summary: /refresh: /')")
  fi
  if grep -q '^login-summary:' "$out"; then
    EXTRA+=("$(grep '^login-summary:' "$out" | sed 's/^login-summary: /login: /')")
    LOGIN_REFUSED=$(sed -n 's/^login-summary: .*refused=\([0-9]*\).*/\1/p' "$out")
  fi
  if grep -q '^flow-summary:' "$out"; then
    EXTRA+=("$(grep '^flow-summary:' "$out" | sed 's/^flow-summary: /login_flow: /')")
    FLOWS_PER_S=$(sed -n 's/^flow-summary: .*flows_per_s=\([0-9.]*\).*/\1/p' "$out")
  fi
  if grep -q '^dpop-summary:' "$out"; then
    EXTRA+=("$(grep '^dpop-summary:' "$out" | sed 's/^dpop-summary: /cc_dpop_es256: /')")
  fi
}

LOGIN_RSS_KB=""
if [[ " $SCENARIOS " =~ " "(refresh|userinfo|introspect)" " ]]; then
  log "logging $DEMO_LOGIN in through the login form"
  login_once
  sleep 1
  LOGIN_RSS_KB=$(rss_kb "$SERVER_PID" VmRSS)
  log "RSS after one password login: $(mb "$LOGIN_RSS_KB") MB"
fi

for scenario in $SCENARIOS; do
  case "$scenario" in
  discovery)
    check discovery '"issuer"' "$BASE/.well-known/openid-configuration"
    run_wrk discovery "$BASE/.well-known/openid-configuration"
    ;;
  jwks)
    check jwks '"keys"' "$BASE/jwks"
    run_wrk jwks "$BASE/jwks"
    ;;
  cc_es256 | cc_rs256)
    if [[ "$scenario" == cc_es256 ]]; then auth="$ES_AUTH"; else auth="$RS_AUTH"; fi
    body="grant_type=client_credentials&scope=reports.read"
    check "$scenario" '"access_token"' -H "Authorization: $auth" -d "$body" "$BASE/token"
    run_wrk "$scenario" -s "$BENCH_DIR/post.lua" "$BASE/token" -- "$body" "$auth"
    ;;
  cc_dpop_es256)
    body="grant_type=client_credentials&scope=reports.read"
    proofs="$WORK/dpop-proofs.txt"
    log "cc_dpop_es256: generating $DPOP_PROOFS DPoP proofs (+1 for the check)"
    on_load_cpu "$DPOP_PROOFS_BIN" "$BASE/token" "$((DPOP_PROOFS + 1))" "$proofs" ||
      die "cc_dpop_es256: dpop_proofs failed"
    check cc_dpop_es256 '"token_type":"DPoP"' -H "Authorization: $ES_AUTH" \
      -H "DPoP: $(head -n 1 "$proofs")" -d "$body" "$BASE/token"
    tail -n +2 "$proofs" >"$proofs.run"
    run_wrk cc_dpop_es256 -s "$BENCH_DIR/dpop.lua" "$BASE/token" -- "$proofs.run" "$body" "$ES_AUTH"
    ;;
  refresh)
    log "refresh: minting $REFRESH_CHAINS refresh tokens through the authorization-code flow"
    : >"$WORK/refresh-tokens.txt"
    for _ in $(seq 1 "$REFRESH_CHAINS"); do
      rt=$(code_exchange | json_field refresh_token)
      [[ -n "$rt" ]] || die "refresh: a code exchange returned no refresh token"
      printf '%s\n' "$rt" >>"$WORK/refresh-tokens.txt"
    done
    run_wrk refresh -s "$BENCH_DIR/refresh.lua" "$BASE/token" -- \
      "$WORK/refresh-tokens.txt" "$THREADS" "$CODE_AUTH"
    ;;
  userinfo)
    at=$(user_access_token)
    check userinfo '"sub"' -H "Authorization: Bearer $at" "$BASE/userinfo"
    run_wrk userinfo -H "Authorization: Bearer $at" "$BASE/userinfo"
    ;;
  introspect)
    at=$(user_access_token)
    body="token=$at&token_type_hint=access_token"
    check introspect '"active":true' -H "Authorization: $CODE_AUTH" -d "$body" "$BASE/introspect"
    run_wrk introspect -s "$BENCH_DIR/post.lua" "$BASE/introspect" -- "$body" "$CODE_AUTH"
    ;;
  par)
    # Pushed authorization requests (RFC 9126) of the confidential code-flow client: client
    # authentication, the checks of /authorize and one write to the short-lived store each.
    # Every push stays there for par.request_uri_ttl_secs (60 s), so the in-process store
    # holds the pushes of the last minute: expect the peak RSS to grow with the rate.
    body="response_type=code&redirect_uri=$(urlenc "$CODE_REDIRECT")&scope=$(urlenc "$CODE_SCOPE")&state=bench"
    check par '"request_uri"' -H "Authorization: $CODE_AUTH" -d "$body" "$BASE/par"
    run_wrk par -s "$BENCH_DIR/post.lua" "$BASE/par" -- "$body" "$CODE_AUTH"
    ;;
  login_flow)
    # The whole interactive login with PKCE (bench/flow.lua): authorize, the login form, the
    # password POST (one argon2id verification), the resume and the code exchange. One
    # connection per wrk thread, each walking its own flow.
    verifier=$(head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
    challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
    csrf=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' | head -c 43)
    flow_authorize="/authorize?response_type=code&client_id=bench-code&redirect_uri=$(urlenc "$CODE_REDIRECT")&scope=$(urlenc "$CODE_SCOPE")&state=bench&code_challenge=$challenge&code_challenge_method=S256"
    WRK_T="$LOGIN_CONNECTIONS" WRK_C="$LOGIN_CONNECTIONS" run_wrk login_flow -s "$BENCH_DIR/flow.lua" "$BASE" -- \
      "$flow_authorize" "$CODE_AUTH" "$(urlenc "$CODE_REDIRECT")" "$verifier" "$DEMO_LOGIN" \
      "$(urlenc "$DEMO_PASSWORD")" "$csrf"
    [[ -n "$FLOWS_PER_S" ]] || die "login_flow: no flow summary from wrk"
    ;;
  login)
    # Password logins through the form (no pending authorization request): each runs one
    # argon2id verification with the shipped cost (m = 19 MiB, t = 2, p = 1). The CSRF check
    # is a double submit, so one random value in both the cookie and the form suffices.
    csrf=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' | head -c 43)
    body="csrf=$csrf&req=&login_name=$DEMO_LOGIN&password=${DEMO_PASSWORD//@/%40}"
    status=$(on_load_cpu curl -sS --max-time 30 -o /dev/null -w '%{http_code}' \
      -H "Cookie: tongyi_csrf=$csrf" -H 'Content-Type: application/x-www-form-urlencoded' \
      -d "$body" "$BASE/login")
    [[ "$status" == 303 ]] || die "login: POST /login answered $status, expected 303"
    WRK_T=1 WRK_C="$LOGIN_CONNECTIONS" run_wrk login -s "$BENCH_DIR/login.lua" "$BASE/login" -- "$body" "tongyi_csrf=$csrf"
    [[ "$LOGIN_REFUSED" == 0 ]] || log "warning: login: $LOGIN_REFUSED attempts were not logged in (captcha or throttle pages)"
    ;;
  esac
done

FINAL_RSS_KB=$(rss_kb "$SERVER_PID" VmRSS)

# The bytes the bare server of the bounds answers: the IdP's own documents.
if [[ "$BOUNDS" == "1" ]]; then
  curl -fsS --max-time 10 -o "$WORK/discovery.json" "$BASE/.well-known/openid-configuration" || die "cannot save the discovery document"
  curl -fsS --max-time 10 -o "$WORK/jwks.json" "$BASE/jwks" || die "cannot save the JWK Set"
fi

# Memory probe, after the load: sequential password logins (each runs one argon2id
# verification of ~19 MiB), to see whether that memory goes back to the OS afterwards.
PROBE_LINE=""
if ((LOGIN_PROBE > 0)); then
  log "login memory probe: $LOGIN_PROBE sequential password logins"
  probe_rss="$(mb "$(rss_kb "$SERVER_PID" VmRSS)")"
  for i in $(seq 1 "$LOGIN_PROBE"); do
    jar="$WORK/probe-$i.txt"
    page=$(on_load_cpu curl -sS --max-time 10 -c "$jar" -b "$jar" "$BASE/login")
    csrf=$(printf '%s' "$page" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
    status=$(on_load_cpu curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
      --data-urlencode "csrf=$csrf" --data-urlencode "req=" \
      --data-urlencode "login_name=$DEMO_LOGIN" --data-urlencode "password=$DEMO_PASSWORD" \
      "$BASE/login")
    [[ "$status" == 303 ]] || die "login probe: POST /login answered $status"
    sleep 0.3
    probe_rss+=" $(mb "$(rss_kb "$SERVER_PID" VmRSS)")"
  done
  sleep 2
  PROBE_LINE="login probe: RSS (MB) before and after each of $LOGIN_PROBE sequential logins: $probe_rss; 2 s later $(mb "$(rss_kb "$SERVER_PID" VmRSS)")"
fi
stop_server

# ---------------------------------------------------------------------------------------------
# Bounds, on the IdP's core, right after the load: the same machine state for both.

if [[ "$BOUNDS" == "1" ]] && [[ " $SCENARIOS " =~ " "(discovery|jwks)" " ]]; then
  log "bound: a bare hyper server answering the same bytes on core $SERVER_CPU"
  (
    if ((PIN)); then exec taskset -c "$SERVER_CPU" "$BARE_HYPER_BIN" "$PORT" "$WORK/discovery.json" "$WORK/jwks.json"; fi
    exec "$BARE_HYPER_BIN" "$PORT" "$WORK/discovery.json" "$WORK/jwks.json"
  ) >"$WORK/bare.log" 2>&1 &
  BARE_PID=$!
  SERVER_PID=$BARE_PID # run_wrk checks that the server lives and reads its memory
  deadline=$((SECONDS + 10))
  until curl -fsS --max-time 2 -o /dev/null "$BASE/jwks" 2>/dev/null; do
    ((SECONDS < deadline)) || die "the bare hyper server did not answer"
    sleep 0.1
  done
  for s in discovery jwks; do
    [[ " $SCENARIOS " == *" $s "* ]] || continue
    if [[ "$s" == discovery ]]; then path="/.well-known/openid-configuration"; else path="/jwks"; fi
    run_wrk "bare_$s" "$BASE$path"
  done
  kill -TERM "$BARE_PID" 2>/dev/null || true
  wait "$BARE_PID" 2>/dev/null || true
  BARE_PID=""
  SERVER_PID=""
fi
P256_SIGN=""
P256_VERIFY=""
RSA_SIGN=""
if [[ "$BOUNDS" == "1" ]]; then
  log "bound: openssl speed -mr -seconds 3 ecdsap256 rsa2048 on core $SERVER_CPU"
  speed=$(on_server_cpu timeout 120 openssl speed -mr -seconds 3 ecdsap256 rsa2048 2>/dev/null || true)
  # -mr lines: +F2:n:bits:sign/s:verify/s (RSA), +F4:n:bits:sign/s:verify/s (ECDSA).
  RSA_SIGN=$(printf '%s\n' "$speed" | awk -F: '$1 == "+F2" && $3 == 2048 { printf "%.0f", $4 }')
  P256_SIGN=$(printf '%s\n' "$speed" | awk -F: '$1 == "+F4" && $3 == 256 { printf "%.0f", $4 }')
  P256_VERIFY=$(printf '%s\n' "$speed" | awk -F: '$1 == "+F4" && $3 == 256 { printf "%.0f", $5 }')
fi
ARGON2_LINE=""
ARGON2_BOUND=""
if [[ " $SCENARIOS " =~ " "(login|login_flow)" " ]]; then
  ARGON2_LINE=$(on_server_cpu "$ARGON2_COST_BIN" "$ROOT/config/idp.toml" || true)
  ARGON2_BOUND=$(printf '%s' "$ARGON2_LINE" | sed -n 's/.*bound \([0-9.]*\) logins\/s.*/\1/p')
fi

# ---------------------------------------------------------------------------------------------
# Report

echo
echo "Tongyi IdP benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $NCPU cores, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; load average before the run $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
if ((PIN)); then
  echo "pinning: IdP on core $SERVER_CPU, wrk on core $LOAD_CPU"
else
  echo "pinning: none"
fi
echo "load: wrk $DURATION s per scenario, $CONNECTIONS connections, $THREADS thread(s); store: ${BENCH_REDIS_URL:-in-process}; database: $BACKEND"
echo "IdP RSS: idle after (re)start $(mb "$IDLE_RSS_KB") MB; first start with seeding $(mb "$FIRST_RSS_KB") MB${LOGIN_RSS_KB:+; after one password login $(mb "$LOGIN_RSS_KB") MB}; after the run $(mb "$FINAL_RSS_KB") MB"
echo "peak MB column: server VmHWM, $PEAK_NOTE"
echo
printf '%-11s %9s %9s %9s %9s %8s %7s %8s %6s %7s\n' scenario "req/s" p50 p99 requests non-2xx errors "peak MB" "idp%" "other%"
for line in ${RESULTS[@]+"${RESULTS[@]}"}; do echo "$line"; done
for line in ${EXTRA[@]+"${EXTRA[@]}"}; do echo "$line"; done
[[ -z "$PROBE_LINE" ]] || echo "$PROBE_LINE"
echo "(non-2xx is wrk's 'Non-2xx or 3xx' count; errors are socket errors incl. timeouts > 5 s;"
echo " idp% and other% are the shares of the IdP's core used by the IdP and by anything else"
echo " (parallel builds, ...) during the run; idp% well below 100% means wrk was the limit)"

[[ -z "$ARGON2_LINE" ]] || { echo; echo "bound, argon2id (core $SERVER_CPU, config/idp.toml, the server's reused work area): $ARGON2_LINE"; }
[[ -z "$RSA_SIGN$P256_SIGN" ]] || echo "bound, openssl speed (core $SERVER_CPU): RSA-2048 ${RSA_SIGN:-?} sign/s; P-256 ${P256_SIGN:-?} sign/s, ${P256_VERIFY:-?} verify/s"

# ---------------------------------------------------------------------------------------------
# Targets (docs/benchmarks.md): each measured figure against its bound from this same run.

MISSED=0
TARGET_LINES=()
# target NAME MEASURED BOUND MIN_RATIO: a ratio of two figures of this run.
target() {
  local name="$1" got="$2" bound="$3" min="$4"
  if [[ -z "$got" || -z "$bound" || "$bound" == 0 ]]; then
    TARGET_LINES+=("$(printf '%-38s %10s %10s %7s %7s  %s' "$name" "${got:-?}" "${bound:-?}" "-" ">=$min" "not measured")")
    return
  fi
  local ratio verdict
  ratio=$(awk -v g="$got" -v b="$bound" 'BEGIN { printf "%.2f", g / b }')
  if awk -v r="$ratio" -v m="$min" 'BEGIN { exit !(r >= m) }'; then verdict="met"; else verdict="MISSED"; MISSED=$((MISSED + 1)); fi
  TARGET_LINES+=("$(printf '%-38s %10s %10s %7s %7s  %s' "$name" "$got" "$bound" "$ratio" ">=$min" "$verdict")")
}
# at_most NAME MEASURED LIMIT: an absolute ceiling (memory).
at_most() {
  local name="$1" got="$2" limit="$3" verdict="met"
  awk -v g="$got" -v l="$limit" 'BEGIN { exit !(g <= l) }' || { verdict="MISSED"; MISSED=$((MISSED + 1)); }
  TARGET_LINES+=("$(printf '%-38s %10s %10s %7s %7s  %s' "$name" "$got" "$limit" "-" "<=$limit" "$verdict")")
}
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }
if [[ "$BOUNDS" == "1" ]]; then
  has discovery && target "discovery / bare hyper" "${RPS_OF[discovery]:-}" "${RPS_OF[bare_discovery]:-}" 0.90
  has jwks && target "jwks / bare hyper" "${RPS_OF[jwks]:-}" "${RPS_OF[bare_jwks]:-}" 0.90
  has cc_es256 && target "cc_es256 / P-256 sign" "${RPS_OF[cc_es256]:-}" "$P256_SIGN" 0.50
  has cc_rs256 && target "cc_rs256 / RSA-2048 sign" "${RPS_OF[cc_rs256]:-}" "$RSA_SIGN" 0.95
  has userinfo && target "userinfo / P-256 verify" "${RPS_OF[userinfo]:-}" "$P256_VERIFY" 0.50
  has introspect && target "introspect / P-256 verify" "${RPS_OF[introspect]:-}" "$P256_VERIFY" 0.50
  if has login; then
    if [[ "$LOGIN_REFUSED" == 0 ]]; then
      target "login / argon2id" "${RPS_OF[login]:-}" "$ARGON2_BOUND" 0.95
    else
      target "login / argon2id (attempts refused)" 0 "$ARGON2_BOUND" 0.95
    fi
  fi
fi
# Refresh's target is absolute, on PostgreSQL + Redis (on SQLite it is shown, not judged).
if has refresh; then
  if [[ "$BACKEND" == postgres ]]; then
    target "refresh req/s / 2,000" "${RPS_OF[refresh]:-}" 2000 1.00
  else
    TARGET_LINES+=("$(printf '%-38s %10s %10s %7s %7s  %s' "refresh req/s (SQLite: not judged)" "${RPS_OF[refresh]:-?}" 2000 - - "target is for PostgreSQL + Redis")")
  fi
fi
at_most "idle RSS MB" "$(mb "$IDLE_RSS_KB")" 30
[[ -z "$FLOWS_PER_S" ]] || TARGET_LINES+=("$(printf '%-38s %10s %10s %7s %7s  %s' "login_flow flows/s / argon2id" "$FLOWS_PER_S" "${ARGON2_BOUND:-?}" "$(awk -v g="$FLOWS_PER_S" -v b="${ARGON2_BOUND:-0}" 'BEGIN { if (b > 0) printf "%.2f", g / b; else print "-" }')" - "shown, no target")")
echo
printf '%-38s %10s %10s %7s %7s  %s\n' target measured bound ratio needed result
for line in ${TARGET_LINES[@]+"${TARGET_LINES[@]}"}; do echo "$line"; done
if ((MISSED > 0)); then
  echo "$MISSED target(s) missed"
  [[ "$ENFORCE" != "1" ]] || exit 3
fi
