#!/usr/bin/env bash
# Start a local ClickHouse server without systemd (the package's own service start is denied in containers).
# Idempotent: installs clickhouse-server/clickhouse-client with apt-get when missing, does nothing but print the
# version when the server already answers. Needs root (or sudo) for the install and the run-as-clickhouse start.
# Ports: native 9000, HTTP 8123; user "default", no password. Stop with scripts/clickhouse-stop.sh.
set -euo pipefail

PID_DIR=/run/clickhouse-server
PID_FILE=$PID_DIR/clickhouse-server.pid
DATA_DIR=/var/lib/clickhouse
LOG_DIR=/var/log/clickhouse-server
CONFIG=/etc/clickhouse-server/config.xml
PING_URL=http://127.0.0.1:8123/ping
TIMEOUT=${CLICKHOUSE_START_TIMEOUT:-60}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

ping_ok() { curl -sf --max-time 2 "$PING_URL" >/dev/null 2>&1; }

# server_running: a clickhouse-server process on this config exists (ours, the package's own start, or an
# init script's); servers on other configs (a local cluster) do not count.
server_running() { pgrep -f "^[^ ]*clickhouse(-server| server).*$CONFIG" >/dev/null 2>&1; }

print_version() {
	if command -v clickhouse-client >/dev/null 2>&1; then
		echo "clickhouse-server $(clickhouse-client --query 'SELECT version()') is up (native :9000, HTTP :8123)"
	else
		echo "clickhouse-server is up (native :9000, HTTP :8123)"
	fi
}

if ping_ok; then
	print_version
	exit 0
fi

if [ ! -x /usr/sbin/clickhouse-server ] || ! command -v clickhouse-client >/dev/null 2>&1; then
	echo "installing clickhouse-server and clickhouse-client with apt-get"
	$SUDO apt-get update
	# "policy-rc.d denied execution of start" during the install is expected: we start it ourselves below.
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server clickhouse-client
fi
if ! command -v curl >/dev/null 2>&1; then
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y curl
fi

# The pid-file folder must be writable by the clickhouse user, or --daemon exits silently.
$SUDO mkdir -p "$PID_DIR" "$DATA_DIR" "$LOG_DIR"
$SUDO chown clickhouse:clickhouse "$PID_DIR" "$DATA_DIR" "$LOG_DIR"

# A stale pid file from a killed server would make the new one refuse to start.
if [ -f "$PID_FILE" ]; then
	old=$(cat "$PID_FILE" 2>/dev/null || true)
	if [ -n "$old" ] && $SUDO kill -0 "$old" 2>/dev/null; then
		echo "clickhouse-server (pid $old) is running but not answering yet; waiting"
	else
		$SUDO rm -f "$PID_FILE"
	fi
fi

# The package's own start (apt-get install above, or an init script) may have succeeded and still be coming
# up: never start a second server next to it, only wait for it to answer.
if [ ! -f "$PID_FILE" ] && ! server_running; then
	(cd "$DATA_DIR" && $SUDO runuser -u clickhouse -- /usr/sbin/clickhouse-server \
		--config-file="$CONFIG" --daemon --pid-file="$PID_FILE")
elif server_running; then
	echo "a clickhouse-server process is already starting; waiting for it"
fi

deadline=$((SECONDS + TIMEOUT))
until ping_ok; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "error: clickhouse-server did not answer $PING_URL within ${TIMEOUT}s" >&2
		echo "see $LOG_DIR/clickhouse-server.err.log and $LOG_DIR/stderr.log" >&2
		tail -n 20 "$LOG_DIR/clickhouse-server.err.log" 2>/dev/null >&2 || true
		exit 1
	fi
	sleep 0.5
done
print_version
