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
#
# For a second platform beside the first (the browser test starts one per run):
#   TONGYI_DATA_DIR=DIR         databases, files and logs under DIR instead of ./data
#   TONGYI_IDP_PORT, TONGYI_PORTAL_PORT, TONGYI_INCUBATOR_PORT, TONGYI_MAKERSPACE_PORT
#                               listen on these ports (defaults 8080–8083); the apps' URLs
#                               and the seed's redirect URIs move with them

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

data_dir="${TONGYI_DATA_DIR:-data}"
logs="$data_dir/logs"
mkdir -p "$logs"
idp_port="${TONGYI_IDP_PORT:-8080}"
portal_port="${TONGYI_PORTAL_PORT:-8081}"
incubator_port="${TONGYI_INCUBATOR_PORT:-8082}"
makerspace_port="${TONGYI_MAKERSPACE_PORT:-8083}"
idp_url="http://127.0.0.1:$idp_port"
portal_url="http://127.0.0.1:$portal_port"
incubator_url="http://127.0.0.1:$incubator_port"
makerspace_url="http://127.0.0.1:$makerspace_port"

# Without any of these variables every app runs on its config file alone, as documented.
idp_env=()
portal_env=()
incubator_env=()
makerspace_env=()
if [[ -n "${TONGYI_DATA_DIR:-}" ]]; then
  if [[ -z "${DATABASE_URL:-}" ]]; then
    idp_env+=("DATABASE_URL=sqlite://$data_dir/idp.db?mode=rwc")
  fi
  for sub in incubator makerspace; do
    declare -n sub_env="${sub}_env"
    sub_env+=("TONGYI_SUBSYSTEM_DATABASE_URL=sqlite://$data_dir/$sub.db?mode=rwc"
      "TONGYI_SUBSYSTEM_FILES_DIR=$data_dir/files/$sub")
    unset -n sub_env
  done
fi
if [[ -n "${TONGYI_IDP_PORT:-}${TONGYI_PORTAL_PORT:-}${TONGYI_INCUBATOR_PORT:-}${TONGYI_MAKERSPACE_PORT:-}" ]]; then
  # The demo seed registers the default URLs; a copy moved to these ports is seeded instead.
  # Placeholders first, so that moving one port onto another default cannot move it twice.
  seed="$data_dir/demo-seed.toml"
  sed -e 's#http://127\.0\.0\.1:8080#@IDP@#g' -e 's#http://127\.0\.0\.1:8081#@PORTAL@#g' \
    -e 's#http://127\.0\.0\.1:8082#@INCUBATOR@#g' -e 's#http://127\.0\.0\.1:8083#@MAKERSPACE@#g' \
    config/demo.toml |
    sed -e "s#@IDP@#$idp_url#g" -e "s#@PORTAL@#$portal_url#g" \
      -e "s#@INCUBATOR@#$incubator_url#g" -e "s#@MAKERSPACE@#$makerspace_url#g" >"$seed"
  idp_env+=("TONGYI_IDP_BIND=127.0.0.1:$idp_port" "TONGYI_IDP_ISSUER=$idp_url"
    "TONGYI_SEED_FILE=${TONGYI_SEED_FILE:-$seed}")
  portal_env+=("TONGYI_PORTAL_BIND=127.0.0.1:$portal_port" "TONGYI_PORTAL_BASE_URL=$portal_url"
    "TONGYI_PORTAL_ISSUER=$idp_url" "TONGYI_PORTAL_SUBSYSTEM_INCUBATOR_URL=$incubator_url"
    "TONGYI_PORTAL_SUBSYSTEM_MAKERSPACE_URL=$makerspace_url")
  incubator_env+=("TONGYI_SUBSYSTEM_BIND=127.0.0.1:$incubator_port"
    "TONGYI_SUBSYSTEM_BASE_URL=$incubator_url" "TONGYI_SUBSYSTEM_ISSUER=$idp_url"
    "TONGYI_SUBSYSTEM_PORTAL_URL=$portal_url")
  makerspace_env+=("TONGYI_SUBSYSTEM_BIND=127.0.0.1:$makerspace_port"
    "TONGYI_SUBSYSTEM_BASE_URL=$makerspace_url" "TONGYI_SUBSYSTEM_ISSUER=$idp_url"
    "TONGYI_SUBSYSTEM_PORTAL_URL=$portal_url")
fi

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

# start NAME COMMAND... : runs COMMAND in the background with its output in $logs/NAME.log.
start() {
  local name="$1"
  shift
  "$@" >"$logs/$name.log" 2>&1 &
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
      echo "$name exited during start-up; last lines of $logs/$name.log:" >&2
      tail -n 20 "$logs/$name.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "$name did not answer $url within 60 s; see $logs/$name.log" >&2
  exit 1
}

start idp env "${idp_env[@]}" "$target_dir/idp" serve
wait_for idp "$idp_url/readyz"
start portal env "${portal_env[@]}" "$target_dir/portal" --config config/portal.toml
wait_for portal "$portal_url/healthz"
start incubator env "${incubator_env[@]}" "$target_dir/subsystems" --config config/incubator.toml
wait_for incubator "$incubator_url/healthz"
start makerspace env "${makerspace_env[@]}" "$target_dir/subsystems" --config config/makerspace.toml
wait_for makerspace "$makerspace_url/healthz"

cat <<EOF

Tongyi demo platform is running:
  统一身份认证平台 (IdP)        $idp_url
  统一门户 (portal)             $portal_url   ← start here
  科技企业孵化器绩效评估系统    $incubator_url
  众创空间绩效评估系统          $makerspace_url

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
cat <<EOF

Logs: $logs/*.log. Press Ctrl-C to stop everything.
EOF

# Runs until Ctrl-C/TERM, or until one of the apps exits (then the others are stopped too).
set +e
wait -n "${pids[@]}"
status=$?
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "${names[$i]} exited (status $status); see $logs/${names[$i]}.log" >&2
  fi
done
exit "$status"
