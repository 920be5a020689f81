# Sourced by scripts/lighthouse, scripts/lighthouse-ab and scripts/profile-app (not run by
# itself): the API serving a build of the app (dist/) on a database of its own, with one
# account signed up, for a browser to load the signed-in app from.

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
