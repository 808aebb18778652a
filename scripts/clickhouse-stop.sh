#!/usr/bin/env bash
# Stop the ClickHouse server started by scripts/clickhouse-start.sh: SIGTERM to the pid in its pid file, then
# wait up to 30 s for it to exit. Does nothing when no server is running.
set -euo pipefail

PID_FILE=/run/clickhouse-server/clickhouse-server.pid
TIMEOUT=${CLICKHOUSE_STOP_TIMEOUT:-30}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

if [ ! -f "$PID_FILE" ]; then
	echo "clickhouse-server is not running (no $PID_FILE)"
	exit 0
fi
pid=$(cat "$PID_FILE")
if [ -z "$pid" ] || ! $SUDO kill -0 "$pid" 2>/dev/null; then
	echo "clickhouse-server is not running (stale pid file)"
	$SUDO rm -f "$PID_FILE"
	exit 0
fi

$SUDO kill -TERM "$pid"
deadline=$((SECONDS + TIMEOUT))
while $SUDO kill -0 "$pid" 2>/dev/null; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "error: clickhouse-server (pid $pid) did not exit within ${TIMEOUT}s" >&2
		exit 1
	fi
	sleep 0.2
done
$SUDO rm -f "$PID_FILE"
echo "clickhouse-server (pid $pid) stopped"
