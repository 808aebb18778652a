#!/usr/bin/env bash
# A local ClickHouse cluster for tests, demos and CI: one standalone ZooKeeper (Debian's zookeeper package) and two
# clickhouse-server 18.16 processes on their own ports, each with a config.d overlay declaring two layouts over
# the same two servers:
#
#   okx_2s    2 shards x 1 replica   (server 1 = shard 1, server 2 = shard 2)   path macro {shard}
#   okx_1s2r  1 shard  x 2 replicas  (server 1 = replica r1, server 2 = r2)     path macro {rshard} (1 on both)
#
# Usage: scripts/clickhouse-cluster.sh start|stop|status
#   start  installs zookeeper/default-jre-headless/clickhouse-server with apt-get when missing, starts everything,
#          waits until both servers see ZooKeeper; idempotent (does nothing for parts already answering).
#   stop   SIGTERM to each pid in its pid file, waits for the exits. Data stays in $DIR (rm -rf it to reset).
# Environment: OKXTAPE_CLUSTER_DIR (default /var/tmp/okxtape-cluster), OKXTAPE_CLUSTER_PORT (base port, default
# 19000: ZooKeeper BASE+181, server N native BASE+N, HTTP BASE+100+N, interserver BASE+200+N).
# Tests find the servers with OKXTAPE_TEST_CLUSTER=127.0.0.1:19001,127.0.0.1:19002 (the default).
set -euo pipefail

DIR=${OKXTAPE_CLUSTER_DIR:-/var/tmp/okxtape-cluster}
BASE=${OKXTAPE_CLUSTER_PORT:-19000}
ZK_PORT=$((BASE + 181))
TIMEOUT=${CLICKHOUSE_START_TIMEOUT:-90}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

tcp_port() { echo $((BASE + $1)); }
http_port() { echo $((BASE + 100 + $1)); }
inter_port() { echo $((BASE + 200 + $1)); }

alive() { [ -f "$1" ] && $SUDO kill -0 "$(cat "$1")" 2>/dev/null; }

install_missing() {
	local pkgs=()
	[ -f /usr/share/java/zookeeper.jar ] || pkgs+=(zookeeper)
	command -v java >/dev/null 2>&1 || pkgs+=(default-jre-headless)
	[ -x /usr/sbin/clickhouse-server ] || pkgs+=(clickhouse-server clickhouse-client)
	command -v curl >/dev/null 2>&1 || pkgs+=(curl)
	if [ ${#pkgs[@]} -gt 0 ]; then
		echo "installing ${pkgs[*]} with apt-get"
		$SUDO apt-get update -qq
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
	fi
}

start_zookeeper() {
	local zk=$DIR/zk
	if alive "$zk/zk.pid"; then
		return
	fi
	mkdir -p "$zk/data"
	cat >"$zk/zoo.cfg" <<EOF
tickTime=2000
dataDir=$zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
maxClientCnxns=200
EOF
	# setsid: its own session, so ZooKeeper outlives the shell (and process group) that started it.
	setsid nohup java -Xmx256m -Dzookeeper.log.dir="$zk" -cp /usr/share/java/zookeeper.jar:/etc/zookeeper/conf \
		org.apache.zookeeper.server.quorum.QuorumPeerMain "$zk/zoo.cfg" >"$zk/zk.log" 2>&1 </dev/null &
	echo $! >"$zk/zk.pid"
}

# overlay N writes server N's config.d file: both layouts, ZooKeeper and its macros.
overlay() {
	local n=$1 shard replica
	shard=$n
	replica=r$n
	cat <<EOF
<?xml version="1.0"?>
<yandex>
    <remote_servers>
        <okx_2s>
            <shard><internal_replication>true</internal_replication>
                <replica><host>127.0.0.1</host><port>$(tcp_port 1)</port></replica></shard>
            <shard><internal_replication>true</internal_replication>
                <replica><host>127.0.0.1</host><port>$(tcp_port 2)</port></replica></shard>
        </okx_2s>
        <okx_1s2r>
            <shard><internal_replication>true</internal_replication>
                <replica><host>127.0.0.1</host><port>$(tcp_port 1)</port></replica>
                <replica><host>127.0.0.1</host><port>$(tcp_port 2)</port></replica></shard>
        </okx_1s2r>
    </remote_servers>
    <zookeeper><node><host>127.0.0.1</host><port>$ZK_PORT</port></node></zookeeper>
    <macros><shard>$shard</shard><rshard>1</rshard><replica>$replica</replica></macros>
    <interserver_http_host>127.0.0.1</interserver_http_host>
</yandex>
EOF
}

start_server() {
	local n=$1 d=$DIR/ch$1
	if alive "$d/server.pid"; then
		return
	fi
	rm -f "$d/server.pid"
	mkdir -p "$d/config.d" "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas" "$d/log"
	sed -e "s#<tcp_port>9000</tcp_port>#<tcp_port>$(tcp_port "$n")</tcp_port>#" \
		-e "s#<http_port>8123</http_port>#<http_port>$(http_port "$n")</http_port>#" \
		-e "s#<interserver_http_port>9009</interserver_http_port>#<interserver_http_port>$(inter_port "$n")</interserver_http_port>#" \
		-e "s#<path>/var/lib/clickhouse/</path>#<path>$d/data/</path>#" \
		-e "s#<tmp_path>/var/lib/clickhouse/tmp/</tmp_path>#<tmp_path>$d/tmp/</tmp_path>#" \
		-e "s#<user_files_path>/var/lib/clickhouse/user_files/</user_files_path>#<user_files_path>$d/user_files/</user_files_path>#" \
		-e "s#<format_schema_path>/var/lib/clickhouse/format_schemas/</format_schema_path>#<format_schema_path>$d/format_schemas/</format_schema_path>#" \
		-e "s#/var/log/clickhouse-server/#$d/log/#g" \
		/etc/clickhouse-server/config.xml >"$d/config.xml"
	cp /etc/clickhouse-server/users.xml "$d/users.xml"
	overlay "$n" >"$d/config.d/okxtape-cluster.xml"
	$SUDO chown -R clickhouse:clickhouse "$d"
	(cd "$d" && $SUDO runuser -u clickhouse -- /usr/sbin/clickhouse-server \
		--config-file="$d/config.xml" --daemon --pid-file="$d/server.pid")
}

query() { curl -sf --max-time 5 "http://127.0.0.1:$(http_port "$1")/" --data-binary "$2"; }

wait_ready() {
	local deadline=$((SECONDS + TIMEOUT)) n
	for n in 1 2; do
		# Ready when the server answers and reaches ZooKeeper.
		until query "$n" "SELECT count() FROM system.zookeeper WHERE path = '/'" >/dev/null 2>&1; do
			if [ "$SECONDS" -ge "$deadline" ]; then
				echo "error: clickhouse server $n (:$(tcp_port "$n")) not ready with ZooKeeper within ${TIMEOUT}s" >&2
				tail -n 20 "$DIR/ch$n/log/clickhouse-server.err.log" "$DIR/zk/zk.log" 2>/dev/null >&2 || true
				exit 1
			fi
			sleep 0.5
		done
	done
}

stop_pid() {
	local f=$1 name=$2 pid
	if ! alive "$f"; then
		rm -f "$f"
		return
	fi
	pid=$(cat "$f")
	$SUDO kill -TERM "$pid"
	for _ in $(seq 150); do
		$SUDO kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if $SUDO kill -0 "$pid" 2>/dev/null; then
		echo "error: $name (pid $pid) did not exit within 30s" >&2
		exit 1
	fi
	rm -f "$f"
	echo "$name (pid $pid) stopped"
}

case "${1:-}" in
start)
	install_missing
	mkdir -p "$DIR"
	start_zookeeper
	start_server 1
	start_server 2
	wait_ready
	echo "clickhouse cluster up: servers 127.0.0.1:$(tcp_port 1) and 127.0.0.1:$(tcp_port 2)" \
		"(clusters okx_2s, okx_1s2r), zookeeper 127.0.0.1:$ZK_PORT, data in $DIR"
	;;
stop)
	stop_pid "$DIR/ch1/server.pid" "clickhouse server 1"
	stop_pid "$DIR/ch2/server.pid" "clickhouse server 2"
	stop_pid "$DIR/zk/zk.pid" zookeeper
	;;
status)
	for n in 1 2; do
		printf 'server %d :%d ' "$n" "$(tcp_port "$n")"
		query "$n" "SELECT version()" || echo down
	done
	alive "$DIR/zk/zk.pid" && echo "zookeeper :$ZK_PORT up" || echo "zookeeper down"
	;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
