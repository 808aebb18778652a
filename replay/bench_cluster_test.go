package replay

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	chstore "github.com/okxtape/okxtape/store/clickhouse"
)

// BenchmarkReplayClickHouse measures replay events/s (Open, merge, engine; no strategy work) of 400k trades over
// 8 instruments read from one ClickHouse server and from the 2-shard cluster's Distributed tables (the local
// cluster of scripts/clickhouse-cluster.sh; env OKXTAPE_TEST_CLUSTER). Skipped without the cluster.
func BenchmarkReplayClickHouse(b *testing.B) {
	list := os.Getenv("OKXTAPE_TEST_CLUSTER")
	if list == "" {
		list = "127.0.0.1:19001,127.0.0.1:19002"
	}
	addr := strings.Split(list, ",")[0]
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 2 * time.Second})
	if err == nil {
		err = conn.Ping(context.Background())
	}
	if err != nil {
		b.Skipf("no local ClickHouse cluster at %s: %v", addr, err)
	}
	db := fmt.Sprintf("okxtape_replay_bench_%d", time.Now().UnixNano())
	b.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" ON CLUSTER okx_2s")
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+"_single")
		conn.Close()
	})
	const n = 400_000
	insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "DOGE-USDT", "XRP-USDT", "BTC-USDT-SWAP", "ETH-USDT-SWAP", "OKB-USDT"}
	events := make([]schema.Stored, n)
	for i := range events {
		events[i] = trade(uint64(i+1), day0+int64(i), insts[i%len(insts)], int64(i), 100+float64(i%50))
	}
	for _, c := range []struct{ name, dsn string }{
		{"one-server", fmt.Sprintf("clickhouse://%s/%s_single", addr, db)},
		{"2-shards", fmt.Sprintf("clickhouse://%s/%s?cluster=okx_2s", addr, db)},
	} {
		sink, err := chstore.NewSink(c.dsn, chstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for lo := 0; lo < n; lo += 100_000 {
			if err := sink.Write(context.Background(), store.Batch{Table: schema.TradeTable, Events: events[lo : lo+100_000]}); err != nil {
				b.Fatal(err)
			}
		}
		sink.Close(context.Background())
		b.Run(c.name, func(b *testing.B) {
			src := NewClickHouseSource(c.dsn)
			defer src.Close()
			for i := 0; i < b.N; i++ {
				s, err := Open(context.Background(), src, store.Query{}, ReplayTables())
				if err != nil {
					b.Fatal(err)
				}
				st, err := Run(context.Background(), NewEngine(s, store.Query{}, engine.Options{}), s, RunOptions{})
				s.Close()
				if err != nil || st.Events != n {
					b.Fatalf("events %d err %v", st.Events, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
