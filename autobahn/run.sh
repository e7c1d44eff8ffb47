#!/usr/bin/env bash
# Runs the Autobahn|Testsuite against wspeer, then gates on the results.
#
#   bash autobahn/run.sh server   # the suite's fuzzingclient tests our server
#   bash autobahn/run.sh server --lent-messages   # ... with lentMessages on
#   bash autobahn/run.sh client   # the suite's fuzzingserver tests our client
#
# The suite itself runs in Docker with host networking; see autobahn/README.md.
# Exit codes: 0 pass, 1 the gate found failing cases, 2 could not run/judge.
set -euo pipefail

usage() {
  echo "usage: $0 server [--lent-messages] | client" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
mode=$1
shift
# Flags for the testee server: only --lent-messages, which lends each message to the echo.
serve_flags=()
case "$mode" in
  server)
    for flag in "$@"; do
      [[ $flag == --lent-messages ]] || usage
      serve_flags+=("$flag")
    done
    ;;
  client) [[ $# -eq 0 ]] || usage ;;
  *) usage ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

image=${AUTOBAHN_IMAGE:-crossbario/autobahn-testsuite}
host=127.0.0.1
port=9001
url="ws://$host:$port"
agent=wspeer
container=wspeer-autobahn-fuzzingserver
owner="$(id -u):$(id -g)"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  cat >&2 <<EOF
The Autobahn|Testsuite was NOT run: it needs a reachable Docker engine
('docker info' failed or docker is not installed).
Start a Docker engine (with host networking available) and try again.
Without Docker, the scripted-peer conformance suite in test/conformance/
(part of 'npm test') covers the same ground.
EOF
  exit 2
fi

server_pid=""
container_started=""

port_open() {
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# wait_for_port <description> <liveness command...>
# Polls until the port accepts connections; gives up if the liveness command
# fails (the process died) or after 60 seconds.
wait_for_port() {
  local what=$1
  shift
  local deadline=$((SECONDS + 60))
  until port_open; do
    if ! "$@"; then
      echo "$what exited before listening on $host:$port" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "$what did not listen on $host:$port within 60 seconds" >&2
      return 1
    fi
    sleep 0.5
  done
}

server_alive() {
  kill -0 "$server_pid" 2>/dev/null
}

container_alive() {
  [[ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" == "true" ]]
}

# Stops the testee server's whole process group (npx -> tsx -> node).
stop_server() {
  [[ -n $server_pid ]] || return 0
  local pid=$server_pid
  server_pid=""
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 5))
  while kill -0 -- "-$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_container() {
  [[ -n $container_started ]] || return 0
  container_started=""
  docker rm -f "$container" >/dev/null 2>&1 || true
}

cleanup() {
  stop_server
  stop_container
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if port_open; then
  echo "$host:$port is already in use; stop whatever listens there first." >&2
  exit 2
fi

# Created here so the bind mount is owned by the invoking user, not by root.
mkdir -p "$root/reports"

# Inside the container the working directory is /, so the configs' relative
# outdirs ./reports/servers and ./reports/clients land in the /reports mount,
# i.e. in ./reports/servers and ./reports/clients on the host.
docker_mounts=(
  -w /
  -v "$root/autobahn:/config:ro"
  -v "$root/reports:/reports"
)

if [[ $mode == server ]]; then
  echo "Starting the wspeer echo server on $url ..."
  # Job control gives the background job its own process group, so that
  # stop_server can signal npx and everything it spawned.
  set -m
  npx tsx src/cli/main.ts serve --host "$host" --port "$port" --max-payload 20971520 --deflate "${serve_flags[@]}" &
  server_pid=$!
  set +m
  wait_for_port "The wspeer server" server_alive || exit 2

  echo "Running the Autobahn fuzzingclient against it ..."
  # Old reports are removed and new ones re-owned inside the container, since
  # files the suite writes there belong to root. Its output is kept, for the
  # number of cases it says it will run.
  log="$root/reports/fuzzingclient.log"
  if ! docker run --rm --network host "${docker_mounts[@]}" -e "OWNER=$owner" "$image" \
    sh -c 'rm -rf /reports/servers
           wstest -m fuzzingclient -s /config/fuzzingclient.json
           status=$?
           chown -R "$OWNER" /reports/servers 2>/dev/null
           exit $status' | tee "$log"; then
    echo "The Autobahn fuzzingclient did not complete." >&2
    exit 2
  fi

  # The suite writes its report and exits 0 even when the server died midway.
  server_died=""
  server_alive || server_died=1
  stop_server
  expected=$(sed -n 's/^Ok, will run \([0-9][0-9]*\) test cases.*/\1/p' "$log" | head -n 1)
  if [[ -z $expected ]]; then
    echo "The fuzzingclient did not say how many cases it would run (see $log)." >&2
    exit 2
  fi
  status=0
  npx tsx autobahn/gate.ts reports/servers --agent "$agent" --expect "$expected" || status=$?
  if [[ -n $server_died ]]; then
    echo "FAIL: the wspeer server was no longer running at the end of the suite." >&2
    ((status == 0)) && status=1
  fi
  exit "$status"
else
  docker rm -f "$container" >/dev/null 2>&1 || true
  echo "Starting the Autobahn fuzzingserver on $url ..."
  container_started=1
  # --webport 0: no web server of the suite's (by default on port 8080 of the host).
  if ! docker run -d --name "$container" --network host "${docker_mounts[@]}" "$image" \
    sh -c 'rm -rf /reports/clients && exec wstest -m fuzzingserver -s /config/fuzzingserver.json --webport 0' \
    >/dev/null; then
    echo "The fuzzingserver container could not be started." >&2
    exit 2
  fi
  if ! wait_for_port "The fuzzingserver container" container_alive; then
    docker logs "$container" >&2 || true
    exit 2
  fi

  echo "Running the wspeer client against it ..."
  # It prints "cases: N" once it has run them all and the reports are written, and
  # exits 1 if a case's connection could not be opened (no case expects that).
  log="$root/reports/autobahn-client.log"
  client_status=0
  npx tsx src/cli/main.ts autobahn-client --url "$url" --agent "$agent" | tee "$log" || client_status=$?
  expected=$(sed -n 's/^cases: \([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
  if [[ -z $expected ]]; then
    echo "The wspeer Autobahn client did not complete." >&2
    exit 2
  fi

  docker exec "$container" chown -R "$owner" /reports/clients 2>/dev/null || true
  stop_container
  status=0
  npx tsx autobahn/gate.ts reports/clients --agent "$agent" --expect "$expected" || status=$?
  if ((client_status != 0)); then
    echo "FAIL: the wspeer client could not connect for some cases (listed above)." >&2
    ((status == 0)) && status=1
  fi
  exit "$status"
fi
