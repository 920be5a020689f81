# Sourced by scripts/lighthouse, scripts/lighthouse-ab and scripts/profile-app (not run by
# itself): the API serving a build of the app (dist/) on a database of its own, with one
# account signed up, for a browser to load the signed-in app from; and Lighthouse run on it,
# the same way in every script (their scores compare).

# start_signed_in_api BINARY DATABASE_URL LOG [STATIC_DIR]: starts BINARY on DATABASE_URL
# (created by its migrations) at a free port, serving STATIC_DIR (default dist), waits until it
# is ready and signs up Ada. Sets `api_pid` (at once, for the caller's cleanup), `port` and
# `cookie` (the session cookie, `name=value`).
start_signed_in_api() {
  local binary="$1" database_url="$2" log="$3" static_dir="${4:-dist}" jar
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  DATABASE_URL="$database_url" PORT="$port" BIND=127.0.0.1 STATIC_DIR="$static_dir" RUST_LOG=warn \
    METRICS_BIND=off ADMIN_BIND=off "$binary" >"$log" 2>&1 &
  api_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  jar=$(mktemp)
  curl -fsS -c "$jar" -H 'content-type: application/json' \
    -d '{"email":"ada@example.com","password":"correct horse battery","name":"Ada Lovelace"}' \
    "http://127.0.0.1:$port/api/auth/signup" >/dev/null
  cookie=$(awk '$6 ~ /sm_session$/ { print $6 "=" $7 }' "$jar")
  rm -f "$jar"
}

# install_lighthouse: the browser tests' Chromium (scripts/setup) and npm's Lighthouse 12 in
# .tools/, unless present.
install_lighthouse() {
  scripts/setup --browser >/dev/null
  [[ -x .tools/node_modules/.bin/lighthouse ]] ||
    npm install --prefix .tools --no-audit --no-fund --silent lighthouse@12
}

# lighthouse_once URL REPORT [LIGHTHOUSE_ARGUMENT...]: one Lighthouse run of URL in that
# Chromium, headless, its JSON report written to REPORT. A run that fails writes a report with
# a runtimeError, or none: the caller checks.
lighthouse_once() {
  local url="$1" report="$2"
  shift 2
  CHROME_PATH="$(command -v chromium)" .tools/node_modules/.bin/lighthouse "$url" \
    --quiet --output=json --output-path="$report" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking --disable-component-update --no-first-run" \
    "$@" >/dev/null 2>&1 || true
}
