package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	chstore "github.com/okxtape/okxtape/store/clickhouse"
	"github.com/okxtape/okxtape/store/parquet"
)

// cluster is the local ClickHouse cluster of scripts/clickhouse-cluster.sh with a fresh database.
type cluster struct {
	t     *testing.T
	addrs []string
	db    string
	admin []driver.Conn
}

// requireCluster connects to both servers of the local cluster (env OKXTAPE_TEST_CLUSTER, default
// 127.0.0.1:19001,127.0.0.1:19002). Without it the test is skipped, or fails with OKXTAPE_REQUIRE_CLUSTER=1
// (.ci/run sets it). The database is dropped on the whole cluster at the end.
func requireCluster(t *testing.T) *cluster {
	t.Helper()
	list := os.Getenv("OKXTAPE_TEST_CLUSTER")
	if list == "" {
		list = "127.0.0.1:19001,127.0.0.1:19002"
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	c := &cluster{t: t, addrs: strings.Split(list, ","), db: "okxtape_e2e_" + hex.EncodeToString(rnd[:])}
	for _, a := range c.addrs {
		conn, err := chgo.Open(&chgo.Options{Addr: []string{a}, DialTimeout: 2 * time.Second})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			err = conn.Ping(ctx)
			cancel()
		}
		if err != nil {
			testenv.Cluster.Missing(t, fmt.Errorf("%s: %w", a, err))
		}
		c.admin = append(c.admin, conn)
	}
	t.Cleanup(func() {
		if err := c.admin[0].Exec(context.Background(), "DROP DATABASE IF EXISTS `"+c.db+"` ON CLUSTER okx_2s"); err != nil {
			t.Errorf("drop %s: %v", c.db, err)
		}
		for _, a := range c.admin {
			a.Close()
		}
	})
	return c
}

// dsn is the --clickhouse URL of server i in the 2-shard layout (okx_2s) or the 1-shard-2-replica one
// (okx_1s2r, whose two servers share each table's replication path through the {rshard} macro).
func (c *cluster) dsn(i int, layout string) string {
	d := fmt.Sprintf("clickhouse://%s/%s?cluster=%s", c.addrs[i], c.db, layout)
	if layout == "okx_1s2r" {
		d += "&zk_path=/clickhouse/tables/{rshard}/{db}/{table}"
	}
	return d
}

// createTables creates the database and tables ON CLUSTER the way record does (the first start against a
// cluster spends about 10 s on it: each ON CLUSTER statement waits for ZooKeeper's queue), so that the recorders
// of a test start recording at once.
func (c *cluster) createTables(layout string) {
	c.t.Helper()
	sink, err := chstore.NewSink(c.dsn(0, layout), chstore.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := sink.Open(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	sink.Close(context.Background())
}

func (c *cluster) count(i int, q string) uint64 {
	c.t.Helper()
	var n uint64
	if err := c.admin[i].QueryRow(context.Background(), strings.ReplaceAll(q, "DB.", "`"+c.db+"`.")).Scan(&n); err != nil {
		c.t.Fatalf("%s on %s: %v", q, c.addrs[i], err)
	}
	return n
}

func (c *cluster) exec(i int, q string) {
	c.t.Helper()
	if err := c.admin[i].Exec(context.Background(), strings.ReplaceAll(q, "DB.", "`"+c.db+"`.")); err != nil {
		c.t.Fatalf("%s on %s: %v", q, c.addrs[i], err)
	}
}

// TestClusterRecordReplay records tickers, trades and books of two instruments that hash to different shards
// into the 2-shard cluster (and Parquet): both shards hold rows, the Distributed table with FINAL holds every
// trade the simulator sent exactly once, and replaying from the cluster gives the live digest.
func TestClusterRecordReplay(t *testing.T) {
	c := requireCluster(t)
	c.createTables("okx_2s")
	dsn := c.dsn(0, "okx_2s")
	s := startSim(t, "--instruments", "2", "--rate", "20")
	rec := start(t, nil, "record", "--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "tickers,trades,books",
		"--inst", "BTC-USDT,ETH-USDT", "--clickhouse", dsn, "--out", t.TempDir(), "--strategy", "digest",
		"--flush-interval", "200ms", "--log-level", "warn")
	time.Sleep(4 * time.Second)
	sent := s.finish()
	time.Sleep(1500 * time.Millisecond)
	live := rec.end(0)

	for _, ds := range []string{"tickers", "trades", "books"} {
		for i := range c.addrs {
			if n := c.count(i, "SELECT count() FROM DB."+ds+"_local"); n == 0 {
				t.Errorf("%s: no rows on shard %s", ds, c.addrs[i])
			}
		}
	}
	if got := c.count(1, "SELECT count() FROM DB.trades FINAL"); got == 0 || got != sent.Items["trades"] {
		t.Errorf("trades through the Distributed table with FINAL: %d, the simulator sent %d", got, sent.Items["trades"])
	}
	if got, uniq := c.count(0, "SELECT count() FROM DB.trades FINAL"), c.count(0, "SELECT uniqExact(inst_id, trade_id) FROM DB.trades"); got != uniq {
		t.Errorf("trades: count() FINAL %d, uniqExact(inst_id, trade_id) %d", got, uniq)
	}
	rep := start(t, nil, "replay", "run", "--clickhouse", c.dsn(1, "okx_2s"), "--speed", "max", "--strategy", "digest", "--log-level", "warn")
	rep.wait(2 * time.Minute)
	replayed := rep.result(0)
	requireParity(t, "record → cluster → replay", live, replayed)
}

// tradeIDs reads the (inst_id, trade_id) pairs of a Parquet store and fails on a duplicate.
func tradeIDs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	err := parquet.ReadDataset(dir, "trades", time.Time{}, time.Time{}, func(e schema.Stored) error {
		tr := e.(*schema.Trade)
		k := fmt.Sprint(tr.InstID, "/", tr.TradeID)
		if ids[k] {
			return fmt.Errorf("trade %s stored twice", k)
		}
		ids[k] = true
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return ids
}

// windowDigest replays dir (a Parquet store) over [from, to) for tickers and trades with the digest strategy.
func windowDigest(t *testing.T, dir string, from, to time.Time) summary {
	t.Helper()
	rep := start(t, nil, "replay", "run", "--data", dir, "--from", from.UTC().Format(time.RFC3339Nano),
		"--to", to.UTC().Format(time.RFC3339Nano), "--channels", "tickers,trades", "--speed", "max",
		"--strategy", "digest", "--log-level", "warn")
	rep.wait(2 * time.Minute)
	if rep.exitCode() != 0 {
		t.Fatalf("replay of %s exit %d", dir, rep.exitCode())
	}
	var s summary
	rep.lastJSON(&s)
	return s
}

// TestClusterTwoRecordersAndMerge is redundant recording: two recorders overlapping in time, one on each replica
// of the 1-shard-2-replica cluster, each also keeping its own Parquet store; the first loses its network path
// for a second while the second records. The cluster keeps each trade once (count() FINAL ==
// uniqExact(inst_id, trade_id), with more raw rows than that until a merge) and `replay gaps` reports the
// outage as covered; `replay merge` of the two Parquet stores has more trades than either, no duplicate, drops
// the covered gap from its ledger, and replays with the digest of each recorder over the time both recorded.
func TestClusterTwoRecordersAndMerge(t *testing.T) {
	c := requireCluster(t)
	// Create the tables first and hold background merges, so the copies stay countable as raw rows.
	c.createTables("okx_1s2r")
	for i := range c.addrs {
		c.exec(i, "SYSTEM STOP MERGES DB.trades_local")
	}
	s := startSim(t, "--instruments", "2", "--rate", "20")
	proxy := newTCPProxy(t, s.addr) // recorder A's own network path
	dirA, dirB, merged := t.TempDir(), t.TempDir(), t.TempDir()+"/merged"
	args := func(i int, dir, exchange string) []string {
		return []string{"--ws-url", "ws://" + exchange, "--rest-url", "http://" + exchange, "--channels", "tickers,trades",
			"--inst", "BTC-USDT,ETH-USDT", "--clickhouse", c.dsn(i, "okx_1s2r"), "--out", dir,
			"--flush-interval", "200ms", "--log-level", "warn"}
	}
	recA := start(t, nil, "record", args(0, dirA, proxy.addr())...)
	time.Sleep(1500 * time.Millisecond)
	startB := time.Now()
	recB := start(t, nil, "record", args(1, dirB, s.addr)...)
	time.Sleep(3 * time.Second)
	cutAt := time.Now()
	proxy.cut(time.Second) // A is blind for a second or two; B records on
	time.Sleep(3 * time.Second)
	stopA := time.Now()
	recA.stop(syscall.SIGTERM, 60*time.Second)
	time.Sleep(1500 * time.Millisecond)
	s.finish()
	time.Sleep(time.Second)
	recB.stop(syscall.SIGTERM, 60*time.Second)
	if recA.exitCode() != 0 || recB.exitCode() != 0 {
		t.Fatalf("record exits %d and %d", recA.exitCode(), recB.exitCode())
	}

	idsA, idsB := tradeIDs(t, dirA), tradeIDs(t, dirB)
	union := map[string]bool{}
	for k := range idsA {
		union[k] = true
	}
	for k := range idsB {
		union[k] = true
	}
	overlap := len(idsA) + len(idsB) - len(union)
	if overlap == 0 || len(union) <= len(idsA) || len(union) <= len(idsB) {
		t.Fatalf("the recordings do not overlap as planned: A %d, B %d, union %d", len(idsA), len(idsB), len(union))
	}
	for i := range c.addrs {
		var raw uint64
		replicated := testenv.WaitFor(30*time.Second, func() bool {
			raw = c.count(i, "SELECT count() FROM DB.trades_local")
			return raw == uint64(len(idsA)+len(idsB))
		})
		if !replicated {
			t.Fatalf("replica %s: %d raw trade rows, want %d from both recorders", c.addrs[i], raw, len(idsA)+len(idsB))
		}
		final := c.count(i, "SELECT count() FROM DB.trades FINAL")
		uniq := c.count(i, "SELECT uniqExact(inst_id, trade_id) FROM DB.trades")
		if final != uniq || final != uint64(len(union)) || raw <= final {
			t.Errorf("replica %s: count() FINAL %d, uniqExact(inst_id, trade_id) %d, raw %d; want %d, %d, more",
				c.addrs[i], final, uniq, raw, len(union), len(union))
		}
	}

	mp := start(t, nil, "replay", "merge", "--data", dirA, "--data", dirB, "--out", merged, "--log-level", "warn")
	mp.wait(2 * time.Minute)
	ms := mp.result(0)
	idsM := tradeIDs(t, merged) // fails on a duplicate (inst_id, trade_id)
	if len(idsM) != len(union) || len(idsM) <= len(idsA) || len(idsM) <= len(idsB) {
		t.Fatalf("merged store: %d trades, A %d, B %d, union %d", len(idsM), len(idsA), len(idsB), len(union))
	}
	if sess := storedRows(t, merged, "sessions", ""); sess[""] != 4 {
		t.Errorf("merged sessions rows %v, want both recorders' 2 each", sess)
	}
	// A's outage is in A's ledger, covered by B: the merge leaves it out and says so; so does `replay gaps` over
	// the cluster, where both recorders' ledgers are mixed.
	gapsA, gapsB, gapsM := storedRows(t, dirA, "gaps", ""), storedRows(t, dirB, "gaps", ""), storedRows(t, merged, "gaps", "")
	nA, nB, nM := sum(gapsA), sum(gapsB), sum(gapsM)
	covered, _ := ms.path("merge", "gaps", "covered").(float64)
	if nA == 0 || covered < 1 || nM != nA+nB-uint64(covered) {
		t.Errorf("gaps: A %d, B %d, merged %d, reported covered %v", nA, nB, nM, ms.path("merge", "gaps"))
	}
	rg := start(t, nil, "replay", "gaps", "--clickhouse", c.dsn(1, "okx_1s2r"), "--log-level", "warn")
	rg.wait(time.Minute)
	var gs summary
	rg.lastJSON(&gs)
	if n, _ := gs.path("covered").(float64); rg.exitCode() != 0 || n < 1 {
		t.Errorf("replay gaps over the cluster: exit %d, %s", rg.exitCode(), tail(rg.stdout.String(), 2000))
	}
	// Before A's outage both recorded everything: the merged store replays each stream as each recorder saw it
	// live. Across the outage the merged store is B's view.
	from := startB.Add(1500 * time.Millisecond)
	before, after := cutAt.Add(-300*time.Millisecond), stopA.Add(-500*time.Millisecond)
	dm, da, db := windowDigest(t, merged, from, before), windowDigest(t, dirA, from, before), windowDigest(t, dirB, from, before)
	requireParity(t, "recorder A vs merged", da, dm)
	requireParity(t, "recorder B vs merged", db, dm)
	requireParity(t, "recorder B vs merged across A's outage", windowDigest(t, dirB, from, after), windowDigest(t, merged, from, after))
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// distinctKeyCounts counts the distinct event keys (schema.Table.Key) of every dataset of a Parquet store per
// instrument: what a store that keeps each event once (ClickHouse FINAL, replay merge) holds of it.
func distinctKeyCounts(t *testing.T, dir string) map[[2]string]uint64 {
	t.Helper()
	out := map[[2]string]uint64{}
	var enc schema.KeyEncoder
	for _, tb := range schema.Tables() {
		seen := map[string]bool{}
		err := parquet.ReadDataset(dir, tb.Name, time.Time{}, time.Time{}, func(e schema.Stored) error {
			if k := string(enc.Append(nil, e)); !seen[k] {
				seen[k] = true
				out[[2]string{tb.Name, e.Hdr().InstID}]++
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
	}
	return out
}
