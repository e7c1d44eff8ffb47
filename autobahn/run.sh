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
client_container=wspeer-autobahn-fuzzingclient
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

# How the container reaches us and we reach it. Host networking shares the host's loopback,
# but only on Docker Engine for Linux run as root. Docker Desktop (macOS, Windows) and
# rootless Docker get a bridge: the suite's port is published on 127.0.0.1, and the suite
# reaches our server as host.docker.internal. AUTOBAHN_NETWORK=host|bridge overrides.
network=${AUTOBAHN_NETWORK:-}
if [[ -z $network ]]; then
  network=host
  if docker info -f '{{.OperatingSystem}} {{.SecurityOptions}}' 2>/dev/null | grep -qiE 'docker desktop|rootless'; then
    network=bridge
  fi
fi
case "$network" in
  host) docker_network=(--network host) ;;
  bridge) docker_network=(--add-host=host.docker.internal:host-gateway) ;;
  *)
    echo "AUTOBAHN_NETWORK must be host or bridge, got $network" >&2
    exit 2
    ;;
esac
# The image is built for amd64 only: elsewhere (Apple silicon) it runs emulated, by request.
docker_platform=(--platform linux/amd64)

server_pid=""
container_started=""
client_started=""

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
  if [[ -n $client_started ]]; then
    client_started=""
    docker rm -f "$client_container" >/dev/null 2>&1 || true
  fi
  [[ -n $container_started ]] || return 0
  container_started=""
  docker rm -f "$container" >/dev/null 2>&1 || true
}

cleanup() {
  # A second Ctrl-C must not cut the cleanup short and leave a container running.
  trap '' INT TERM
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
  # Over a bridge the suite comes from outside the host's loopback: the server listens on
  # every interface, and the suite is given a copy of its config with the host's name.
  listen=$host
  config=/config/fuzzingclient.json
  if [[ $network == bridge ]]; then
    listen=0.0.0.0
    sed "s#ws://$host:$port#ws://host.docker.internal:$port#" autobahn/fuzzingclient.json >"$root/reports/fuzzingclient.json"
    config=/reports/fuzzingclient.json
  fi
  echo "Starting the wspeer echo server on ws://$listen:$port ..."
  # Job control gives the background job its own process group, so that
  # stop_server can signal npx and everything it spawned. --context-takeover: the
  # compression cases then exercise kept contexts as well as the suite's offers to drop them.
  # (The empty array is spelt so for bash before 4.4, which calls it unbound under set -u.)
  set -m
  npx tsx src/cli/main.ts serve --host "$listen" --port "$port" --max-payload 20971520 --deflate --context-takeover ${serve_flags[@]+"${serve_flags[@]}"} &
  server_pid=$!
  set +m
  wait_for_port "The wspeer server" server_alive || exit 2

  echo "Running the Autobahn fuzzingclient against it ($network network) ..."
  # Old reports are removed and new ones re-owned inside the container, since
  # files the suite writes there belong to root. Its output is kept, for the
  # number of cases it says it will run. The container is named and waited for in the
  # background, so that Ctrl-C reaches the traps at once and cleanup removes it.
  log="$root/reports/fuzzingclient.log"
  status_file="$root/reports/fuzzingclient.status"
  rm -f "$status_file"
  docker rm -f "$client_container" >/dev/null 2>&1 || true
  client_started=1
  (
    status=0
    docker run --rm --init --name "$client_container" "${docker_network[@]}" "${docker_platform[@]}" "${docker_mounts[@]}" \
      -e "OWNER=$owner" -e "CONFIG=$config" -e PYTHONUNBUFFERED=1 "$image" \
      sh -c 'rm -rf /reports/servers
             wstest -m fuzzingclient -s "$CONFIG"
             status=$?
             chown -R "$OWNER" /reports/servers 2>/dev/null
             exit $status' || status=$?
    echo "$status" >"$status_file"
  ) 2>&1 | tee "$log" &
  wait $! || true
  client_started=""
  if [[ "$(cat "$status_file" 2>/dev/null)" != 0 ]]; then
    echo "The Autobahn fuzzingclient did not complete." >&2
    exit 2
  fi
  if grep -q 'Connection to .* failed' "$log"; then
    echo "The suite could not reach the wspeer server (see $log); with Docker Desktop or rootless Docker, try AUTOBAHN_NETWORK=bridge." >&2
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
  # --webport 0: no web server of the suite's (by default on port 8080 of the host). Over a
  # bridge its port is published on the host's loopback, and Docker accepts connections
  # there before the suite listens: the client retries its first request meanwhile.
  published=()
  [[ $network == bridge ]] && published=(-p "$host:$port:$port")
  if ! docker run -d --init --name "$container" "${docker_network[@]}" ${published[@]+"${published[@]}"} "${docker_platform[@]}" "${docker_mounts[@]}" "$image" \
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
