package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// Cluster layouts of scripts/clickhouse-cluster.sh.
const (
	chTwoShards   = "okx_2s"   // 2 shards x 1 replica, path macro {shard}
	chTwoReplicas = "okx_1s2r" // 1 shard x 2 replicas, path macro {rshard}
)

// chCluster is the local test cluster: two servers, a fresh database and an admin connection to each.
type chCluster struct {
	addrs []string
	db    string
	admin []driver.Conn
}

// chTestCluster returns the servers of the local cluster (scripts/clickhouse-cluster.sh start; env
// OKXTAPE_TEST_CLUSTER, default 127.0.0.1:19001,127.0.0.1:19002) with a fresh database name that is dropped on
// the whole cluster when the test ends. Without the cluster the test is skipped, or fails when
// OKXTAPE_REQUIRE_CLUSTER=1 (CI).
func chTestCluster(tb testing.TB) *chCluster {
	tb.Helper()
	list := os.Getenv("OKXTAPE_TEST_CLUSTER")
	if list == "" {
		list = "127.0.0.1:19001,127.0.0.1:19002"
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	c := &chCluster{addrs: strings.Split(list, ","), db: "okxtape_cluster_" + hex.EncodeToString(rnd[:])}
	for _, a := range c.addrs {
		conn, err := chgo.Open(&chgo.Options{Addr: []string{a}, DialTimeout: 2 * time.Second})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			var n uint64
			// Ready means: answering, and both layouts configured.
			err = conn.QueryRow(ctx, "SELECT count() FROM system.clusters WHERE cluster IN (?, ?)", chTwoShards, chTwoReplicas).Scan(&n)
			if err == nil && n != 4 {
				err = fmt.Errorf("%s lacks the clusters %s and %s", a, chTwoShards, chTwoReplicas)
			}
			cancel()
		}
		if err != nil {
			testenv.Cluster.Missing(tb, fmt.Errorf("%s: %w", a, err))
		}
		c.admin = append(c.admin, conn)
	}
	tb.Cleanup(func() {
		err := c.admin[0].Exec(context.Background(), "DROP DATABASE IF EXISTS "+quoteIdent(c.db)+" ON CLUSTER "+chTwoShards)
		if err != nil {
			tb.Errorf("drop cluster test database: %v", err)
		}
		for _, a := range c.admin {
			a.Close()
		}
	})
	return c
}

// dsn names server i of the cluster in the given layout. The replica layout shares one replication path per
// table between the two servers through the {rshard} macro (1 on both).
func (c *chCluster) dsn(i int, cluster string) string {
	d := fmt.Sprintf("clickhouse://%s/%s?cluster=%s", c.addrs[i], c.db, cluster)
	if cluster == chTwoReplicas {
		d += "&zk_path=/clickhouse/tables/{rshard}/{db}/{table}"
	}
	return d
}

func (c *chCluster) count(tb testing.TB, i int, query string, args ...any) uint64 {
	tb.Helper()
	var n uint64
	if err := c.admin[i].QueryRow(context.Background(), strings.ReplaceAll(query, "DB.", quoteIdent(c.db)+"."), args...).Scan(&n); err != nil {
		tb.Fatalf("%s on %s: %v", query, c.addrs[i], err)
	}
	return n
}

// chEventually polls cond until it holds, or fails with what and cond's last account of the state.
func chEventually(tb testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	var state string
	if !testenv.WaitFor(within, func() (ok bool) { ok, state = cond(); return ok }) {
		tb.Fatalf("%s: not reached within %v (%s)", what, within, state)
	}
}

var chClusterInsts = []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "DOGE-USDT", "XRP-USDT", "BTC-USDT-SWAP", "ETH-USDT-SWAP", "OKB-USDT"}

// chSpread gives the events eight instruments (both shards get some) as a function of their ts (so copies of
// one generated event get the same one), without changing anything else.
func chSpread(events []schema.Stored) []schema.Stored {
	for _, e := range events {
		e.Hdr().InstID = chClusterInsts[(e.Hdr().Ts/997)%int64(len(chClusterInsts))]
	}
	return events
}

func TestClickHouseClusterDDLText(t *testing.T) {
	got := ClusterDDL("db", schema.TradeTable, ServerVersion{18, 16, 1}, Layout{Cluster: "c"})
	if len(got) != 2 {
		t.Fatalf("%d statements, want 2", len(got))
	}
	local := strings.Replace(chWantTradesPlain, "`db`.`trades`", "`db`.`trades_local` ON CLUSTER `c`", 1)
	local = regexp.MustCompile(" COMMENT '[^']*'").ReplaceAllString(local, "") // 18.16 replicas refuse comments
	local = strings.Replace(local, "ReplacingMergeTree(`seq`)",
		"ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/trades_local', '{replica}', `seq`)", 1)
	if got[0] != local {
		t.Errorf("local table:\n%s\nwant:\n%s", got[0], local)
	}
	wantDist := "CREATE TABLE IF NOT EXISTS `db`.`trades` ON CLUSTER `c`\n(\n" +
		strings.Join(columnDefs(schema.TradeTable, false, false, false), ",\n") +
		"\n)\nENGINE = Distributed(`c`, `db`, `trades_local`, cityHash64(`inst_id`))"
	if got[1] != wantDist {
		t.Errorf("distributed table:\n%s\nwant:\n%s", got[1], wantDist)
	}
	custom := ClusterDDL("okx", schema.BookTable, ServerVersion{24, 8, 4},
		Layout{Cluster: "c2", ZKPath: "/ch/{layer}-{shard}/{db}.{table}", Replica: "{host}"})
	for _, want := range []string{"ReplicatedReplacingMergeTree('/ch/{layer}-{shard}/okx.books_local', '{host}', `seq`)",
		"CODEC(", "LowCardinality(String)", "COMMENT", "`ts_time` DateTime64(3, 'UTC') ALIAS"} {
		if !strings.Contains(custom[0], want) {
			t.Errorf("modern local table lacks %q:\n%s", want, custom[0])
		}
	}
	if strings.Contains(custom[1], "CODEC") || !strings.Contains(custom[1], "ALIAS") {
		t.Errorf("modern distributed table: codecs belong to the local table only, aliases to both:\n%s", custom[1])
	}
	if CreateDatabase("okx", Layout{Cluster: "c"}) != "CREATE DATABASE IF NOT EXISTS `okx` ON CLUSTER `c`" {
		t.Errorf("create database: %s", CreateDatabase("okx", Layout{Cluster: "c"}))
	}
}

func TestClickHouseClusterDSN(t *testing.T) {
	opts, db, l, err := ParseDSN("clickhouse://h:9000/okx?cluster=prod&zk_path=/x/{shard}/{db}/{table}&dial_timeout=1s", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if db != "okx" || l.Cluster != "prod" || l.ZKPath != "/x/{shard}/{db}/{table}" || opts.DialTimeout != 5*time.Second {
		t.Fatalf("db %s layout %+v", db, l)
	}
	if _, ok := opts.Settings[ParamCluster]; ok {
		t.Fatal("the cluster parameter must not reach the server as a setting")
	}
	for _, bad := range []string{"clickhouse://h:9000/okx?zk_path=/x", "clickhouse://h:9000/okx?cluster=a-b"} {
		if _, _, _, err := ParseDSN(bad, Options{}); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestClickHouseClusterShards records through the Distributed table of the 2-shard layout: rows of every
// table land on both shards, a batch inserted twice is seen once with FINAL, and Read returns every row in
// (ts, seq) order through the Distributed tables.
func TestClickHouseClusterShards(t *testing.T) {
	c := chTestCluster(t)
	s := chOpenTestSink(t, c.dsn(0, chTwoShards), Options{})
	ctx := context.Background()
	for i := range c.addrs {
		if n := c.count(t, i, "SELECT count() FROM system.tables WHERE database = ?", c.db); int(n) != 2*len(schema.Tables()) {
			t.Fatalf("server %s has %d tables, want %d (local + distributed per dataset)", c.addrs[i], n, 2*len(schema.Tables()))
		}
	}
	const rows = 64
	for _, tab := range schema.Tables() {
		events := chSpread(chGenEvents(tab, 0, rows))
		for range 2 { // a retried batch
			if err := s.Write(ctx, store.Batch{Table: tab, Events: events}); err != nil {
				t.Fatalf("%s: %v", tab.Name, err)
			}
		}
		// Synchronous distributed inserts: the rows are on the shards when Write returns.
		var perShard []uint64
		var sum uint64
		for i := range c.addrs {
			n := c.count(t, i, "SELECT count() FROM DB."+quoteIdent(tab.Name+LocalSuffix)+" FINAL")
			perShard = append(perShard, n)
			sum += n
		}
		if perShard[0] == 0 || perShard[1] == 0 || sum != rows {
			t.Fatalf("%s: rows per shard %v, want both non-empty and %d in all", tab.Name, perShard, rows)
		}
		if n := c.count(t, 1, "SELECT count() FROM DB."+quoteIdent(tab.Name)+" FINAL"); n != rows {
			t.Fatalf("%s: %d rows through the Distributed table with FINAL, want %d", tab.Name, n, rows)
		}
		got := chReadAll(t, c.dsn(1, chTwoShards), tab.Name, store.Query{})
		if len(got) != rows {
			t.Fatalf("%s: read %d rows, want %d", tab.Name, len(got), rows)
		}
		for k, e := range events {
			if want := chValues(e); !chSameRow(got[k], want) {
				t.Fatalf("%s row %d:\n got %v\nwant %v", tab.Name, k, got[k], want)
			}
		}
	}
}

// TestClickHouseClusterTwoRecorders is redundant recording on the 1-shard-2-replica layout: two sinks, one per
// replica, write overlapping ranges of the same events (each with its own seq and receive time, as two recorders
// would). Replication brings every row to both replicas; FINAL keeps each event once, the copy with the larger
// seq.
func TestClickHouseClusterTwoRecorders(t *testing.T) {
	c := chTestCluster(t)
	ctx := context.Background()
	a := chOpenTestSink(t, c.dsn(0, chTwoReplicas), Options{})
	b := chOpenTestSink(t, c.dsn(1, chTwoReplicas), Options{})
	for i := range c.addrs {
		// Background merges would collapse the copies at any moment; stopped, the raw rows stay countable.
		if err := c.admin[i].Exec(ctx, "SYSTEM STOP MERGES "+quoteIdent(c.db)+".trades_local"); err != nil {
			t.Fatal(err)
		}
	}
	evA := chSpread(chGenEvents(schema.TradeTable, 0, 1000))
	evB := chSpread(chGenEvents(schema.TradeTable, 500, 1000))
	for _, e := range evB { // the second recorder numbers and times its arrivals itself
		e.Hdr().Seq += 1_000_000
		e.Hdr().RecvNs += 2_000_000
	}
	for k := 0; k < 1000; k += 250 {
		if err := a.Write(ctx, store.Batch{Table: schema.TradeTable, Events: evA[k : k+250]}); err != nil {
			t.Fatal(err)
		}
		if err := b.Write(ctx, store.Batch{Table: schema.TradeTable, Events: evB[k : k+250]}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range c.addrs {
		chEventually(t, 30*time.Second, "replication to "+c.addrs[i], func() (bool, string) {
			n := c.count(t, i, "SELECT count() FROM DB.trades_local")
			return n == 2000, fmt.Sprintf("%d raw rows, want 2000", n)
		})
		final := c.count(t, i, "SELECT count() FROM DB.trades FINAL")
		uniq := c.count(t, i, "SELECT uniqExact(inst_id, trade_id) FROM DB.trades")
		raw := c.count(t, i, "SELECT count() FROM DB.trades")
		if final != 1500 || uniq != 1500 || raw <= final {
			t.Fatalf("replica %s: count() FINAL %d, uniqExact(inst_id, trade_id) %d, raw %d; want 1500, 1500, more",
				c.addrs[i], final, uniq, raw)
		}
		if n := c.count(t, i, "SELECT count() FROM DB.trades FINAL WHERE seq >= 1000000 + 1000000"); n != 1000 {
			t.Fatalf("replica %s: %d rows kept from the recorder with the larger seq, want its 1000", c.addrs[i], n)
		}
	}
	// A merge (here forced with OPTIMIZE ... FINAL) removes the extra copies for good.
	for i := range c.addrs {
		if err := c.admin[i].Exec(ctx, "SYSTEM START MERGES "+quoteIdent(c.db)+".trades_local"); err != nil {
			t.Fatal(err)
		}
	}
	chEventually(t, 30*time.Second, "OPTIMIZE FINAL", func() (bool, string) {
		// 18.16 can refuse while its own merges restart ("Unknown log entry type"): try again.
		err := c.admin[0].Exec(ctx, "OPTIMIZE TABLE "+quoteIdent(c.db)+".trades_local FINAL")
		n := c.count(t, 0, "SELECT count() FROM DB.trades_local")
		return err == nil && n == 1500, fmt.Sprintf("%d rows, want 1500 (optimize: %v)", n, err)
	})
}

// BenchmarkClickHouseClusterInsert measures insert rows/s of 100k-row trade batches (8 instruments): into one
// server, into the 2-shard cluster through the Distributed table (synchronous, what the sink does), and straight
// into each shard's local table (the rows split by the server's own cityHash64(inst_id) % 2, as the
// Distributed table would).
func BenchmarkClickHouseClusterInsert(b *testing.B) {
	c := chTestCluster(b)
	ctx := context.Background()
	const rows = 100_000
	events := chSpread(chGenEvents(schema.TradeTable, 0, rows))
	single := chOpenTestSink(b, fmt.Sprintf("clickhouse://%s/%s_single", c.addrs[0], c.db), Options{})
	b.Cleanup(func() { _ = c.admin[0].Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(c.db+"_single")) })
	dist := chOpenTestSink(b, c.dsn(0, chTwoShards), Options{})
	// Straight to the shards: one sink per server writing the local table.
	var direct []*Sink
	for i := range c.addrs {
		s := chOpenTestSink(b, c.dsn(i, chTwoShards), Options{})
		s.inserts[schema.TradeTable.Name] = strings.Replace(insertSQL(c.db, schema.TradeTable), "`trades`", "`trades_local`", 1)
		direct = append(direct, s)
	}
	shardOf := map[string]int{}
	for _, inst := range chClusterInsts {
		var h uint64
		if err := c.admin[0].QueryRow(ctx, "SELECT toUInt64(cityHash64(?) % 2)", inst).Scan(&h); err != nil {
			b.Fatal(err)
		}
		shardOf[inst] = int(h)
	}
	split := make([][]schema.Stored, len(c.addrs))
	for _, e := range events {
		i := shardOf[e.Hdr().InstID]
		split[i] = append(split[i], e)
	}
	run := func(name string, write func() error) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := write(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	run("one-server", func() error { return single.Write(ctx, store.Batch{Table: schema.TradeTable, Events: events}) })
	run("2-shards-distributed", func() error { return dist.Write(ctx, store.Batch{Table: schema.TradeTable, Events: events}) })
	run("2-shards-direct", func() error {
		errs := make(chan error, len(direct))
		for i, s := range direct { // both shards at once, as one writer per shard would
			go func() { errs <- s.Write(ctx, store.Batch{Table: schema.TradeTable, Events: split[i]}) }()
		}
		var first error
		for range direct {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	})
}
