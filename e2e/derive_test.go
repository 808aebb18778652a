package e2e

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	chstore "github.com/okxtape/okxtape/store/clickhouse"
	"github.com/okxtape/okxtape/store/parquet"
)

// TestDeriveLiveAndReplayed: a 12 s simulator recording of trades and books for two instruments with
// `record --derive`, then `replay derive` over what it stored. The live and replayed derived datasets are
// identical; DuckDB's own 1 s aggregation of the stored trades equals every trade_bars row; the best bid/ask of
// every 5-level snapshot taken each second equals the last stored quote at or before its boundary.
func TestDeriveLiveAndReplayed(t *testing.T) {
	out := recordDerived(t, 12*time.Second, []string{"--instruments", "2", "--rate", "20"}, "book-snapshots=5@1s trade-bars=1s")
	again := replayDerived(t, out, "--book-snapshots", "5@1s", "--trade-bars", "1s")
	requireSameDerived(t, out, again)
	checkBarsAgainstDuckDB(t, out, again)
	checkSnapshotsAgainstQuotes(t, out, again, 1000, false, 10)

	// A second derive into the same folder is refused: the Parquet sink dedups by seq.
	dup := start(t, nil, "replay", "derive", "--data", out, "--out", again, "--trade-bars", "1s", "--log-level", "warn")
	dup.wait(time.Minute)
	if dup.exitCode() != 2 {
		t.Fatalf("a second derive into the same --out: exit %d, want 2", dup.exitCode())
	}
	t.Run("clickhouse", func(t *testing.T) {
		dsn, _ := testenv.ClickHouseDB(t)
		ch := start(t, nil, "replay", "derive", "--data", out, "--out-clickhouse", dsn, "--book-snapshots", "5@1s",
			"--trade-bars", "1s", "--log-level", "warn")
		ch.wait(2 * time.Minute)
		if ch.exitCode() != 0 {
			t.Fatalf("replay derive --out-clickhouse exit %d", ch.exitCode())
		}
		for _, ds := range []string{"book_snapshots", "trade_bars"} {
			var got []string
			err := chstore.Read(context.Background(), dsn, ds, store.Query{}, func(e schema.Stored) error {
				e.Hdr().Seq, e.Hdr().RecvNs = 0, 0
				got = append(got, string(schema.AppendRow(nil, e)))
				return nil
			})
			if err != nil {
				t.Fatalf("reading %s back from ClickHouse: %v", ds, err)
			}
			slices.Sort(got)
			if want := derivedRows(t, again, ds); !slices.Equal(got, want) {
				t.Fatalf("%s: %d rows in ClickHouse differ from the %d in Parquet", ds, len(got), len(want))
			}
		}
	})
	if n, size := snapshotFiles(t, again); n > 0 {
		t.Logf("book_snapshots: %d rows in %d bytes of Parquet (%.0f bytes/row, small-file overhead included)",
			n, size, float64(size)/float64(n))
	}
}

// recordDerived records trades and books of two instruments from a simulator started with simArgs for d, with
// `record --derive spec`, and returns the store.
func recordDerived(t *testing.T, d time.Duration, simArgs []string, spec string) string {
	t.Helper()
	out := t.TempDir()
	s := startSim(t, simArgs...)
	rec := start(t, nil, "record", "--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "trades,books",
		"--inst", "BTC-USDT,ETH-USDT", "--out", out, "--flush-interval", "200ms", "--log-level", "warn", "--derive", spec)
	time.Sleep(d)
	s.finish() // stop the source first: the client reads everything already on the wire
	time.Sleep(1500 * time.Millisecond)
	rec.end(0)
	return out
}

// replayDerived runs `replay derive` over the store into a new folder and returns it.
func replayDerived(t *testing.T, data string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "derived")
	der := start(t, nil, "replay", append([]string{"derive", "--data", data, "--out", out, "--log-level", "warn"}, args...)...)
	der.wait(2 * time.Minute)
	s := der.result(0)
	t.Logf("replay derive: %v events, %.0f events/s, derive %v", s.path("events"), s.path("events_per_s"), s.path("derive"))
	return out
}

// requireSameDerived fails unless two stores hold the same derived rows (seq and recv_ns aside).
func requireSameDerived(t *testing.T, live, replayed string) {
	t.Helper()
	for _, ds := range []string{"book_snapshots", "trade_bars"} {
		l, r := derivedRows(t, live, ds), derivedRows(t, replayed, ds)
		if len(l) == 0 || !slices.Equal(l, r) {
			t.Fatalf("%s: %d live rows, %d replayed; equal: %v", ds, len(l), len(r), slices.Equal(l, r))
		}
	}
}

// TestDeriveOnTheLocalClock: snapshot boundaries in local receive time, live and replayed alike; each
// snapshot's top equals the last quote received at or before its boundary.
func TestDeriveOnTheLocalClock(t *testing.T) {
	out := recordDerived(t, 6*time.Second, []string{"--instruments", "2", "--rate", "20"},
		"book-snapshots=5@100ms trade-bars=1s clock=local")
	again := replayDerived(t, out, "--book-snapshots", "5@100ms", "--trade-bars", "1s", "--clock", "local")
	requireSameDerived(t, out, again)
	checkSnapshotsAgainstQuotes(t, out, again, 100, true, 40)
}

// TestDeriveThroughBookGaps: the simulator loses book updates, so books go through sequence gaps and resyncs.
// Live and replayed snapshots still agree, and exactly the 100 ms boundaries inside a blind window (after the
// last good message, before the resync snapshot; or after the last frame when the simulator stops) are flagged
// in_gap, with empty levels.
func TestDeriveThroughBookGaps(t *testing.T) {
	out := recordDerived(t, 8*time.Second, []string{"--instruments", "2", "--rate", "20", "--book-gap-every", "8"},
		"book-snapshots=1@100ms trade-bars=1s")
	again := replayDerived(t, out, "--book-snapshots", "1@100ms", "--trade-bars", "1s")
	requireSameDerived(t, out, again)
	rows := duckdb(t, `SELECT s.inst_id, epoch_ms(s.ts)::BIGINT AS b, s.in_gap, len(s.bid_px)::BIGINT AS nb,
		count(g.seq)::BIGINT AS windows
		FROM read_parquet('`+again+`/book_snapshots/*/*.parquet') s
		LEFT JOIN read_parquet('`+out+`/gaps/*/*.parquet') g
		  ON ((g.inst_id = s.inst_id AND g.channel = s.channel AND g.reason = 'resync') OR g.reason = 'disconnect')
		  AND g.from_ms < s.ts AND s.ts < g.to_ms
		GROUP BY ALL ORDER BY s.inst_id, b`)
	flagged := 0
	for _, r := range rows {
		inside := duckNum(t, r["windows"]) > 0
		if r["in_gap"] != inside || (inside && duckNum(t, r["nb"]) != 0) {
			t.Fatalf("snapshot %v: in_gap %v, inside a resync window %v", r, r["in_gap"], inside)
		}
		if inside {
			flagged++
		}
	}
	if flagged == 0 {
		t.Fatalf("no snapshot fell inside a gap; %d rows", len(rows))
	}
	t.Logf("%d of %d snapshots flagged in_gap", flagged, len(rows))
}

// derivedRows returns a dataset's rows as canonical encodings without the local columns (seq, recv_ns), sorted.
func derivedRows(t *testing.T, dir, dataset string) []string {
	t.Helper()
	var out []string
	err := parquet.ReadDataset(dir, dataset, time.Time{}, time.Time{}, func(e schema.Stored) error {
		e.Hdr().Seq, e.Hdr().RecvNs = 0, 0
		out = append(out, string(schema.AppendRow(nil, e)))
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s in %s: %v", dataset, dir, err)
	}
	slices.Sort(out)
	return out
}

// duckNum reads a number from DuckDB's JSON (doubles are numbers, BIGINTs may be strings).
func duckNum(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err == nil {
			return f
		}
	}
	t.Fatalf("not a number: %#v", v)
	return 0
}

func close9(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// checkBarsAgainstDuckDB: DuckDB aggregates the stored trades into 1 s bars itself (open/close by ts, then
// arrival seq); every trade_bars row equals its bar, and there is no bar without a row.
func checkBarsAgainstDuckDB(t *testing.T, data, derived string) {
	t.Helper()
	want := duckdb(t, `SELECT inst_id, channel, ((epoch_ms(ts) // 1000) * 1000)::BIGINT AS start,
		first(px ORDER BY ts, seq) AS open, max(px) AS high, min(px) AS low, last(px ORDER BY ts, seq) AS close,
		sum(sz) AS volume, sum(CASE WHEN side = 'buy' THEN sz ELSE 0 END) AS buy_volume,
		sum(CASE WHEN side = 'sell' THEN sz ELSE 0 END) AS sell_volume, sum(greatest(count, 1))::BIGINT AS trades,
		sum(px * sz) / sum(sz) AS vwap
		FROM read_parquet('`+data+`/trades/*/*.parquet') GROUP BY ALL ORDER BY inst_id, channel, start`)
	got := duckdb(t, `SELECT inst_id, channel, epoch_ms(ts)::BIGINT AS start, open, high, low, close, volume,
		buy_volume, sell_volume, trades, vwap
		FROM read_parquet('`+derived+`/trade_bars/*/*.parquet') WHERE interval_ms = 1000 ORDER BY inst_id, channel, start`)
	if len(got) != len(want) || len(want) < 20 {
		t.Fatalf("%d trade_bars rows, DuckDB makes %d bars from the trades", len(got), len(want))
	}
	exact := []string{"start", "open", "high", "low", "close", "trades"}
	sums := []string{"volume", "buy_volume", "sell_volume", "vwap"} // float sums: summation order may differ
	for i, w := range want {
		g := got[i]
		if g["inst_id"] != w["inst_id"] || g["channel"] != w["channel"] {
			t.Fatalf("bar %d: %v, DuckDB %v", i, g, w)
		}
		for _, c := range exact {
			if duckNum(t, g[c]) != duckNum(t, w[c]) {
				t.Fatalf("bar %d %s: %v, DuckDB %v\n%v\n%v", i, c, g[c], w[c], g, w)
			}
		}
		for _, c := range sums {
			if !close9(duckNum(t, g[c]), duckNum(t, w[c])) {
				t.Fatalf("bar %d %s: %v, DuckDB %v", i, c, g[c], w[c])
			}
		}
	}
}

// checkSnapshotsAgainstQuotes: the best bid/ask of every 5-level snapshot of the interval equals the last
// stored quote (the validated top of book after each message) at or before its boundary, by (ts, seq), or by
// (recv_ns, seq) on the local clock.
func checkSnapshotsAgainstQuotes(t *testing.T, data, derived string, intervalMs int, local bool, minPerInst int) {
	t.Helper()
	qt := "epoch_ms(q.ts) * 1000000"
	if local {
		qt = "epoch_ns(q.recv_ns)"
	}
	rows := duckdb(t, `SELECT s.inst_id, epoch_ms(s.ts)::BIGINT AS b, s.in_gap, len(s.bid_px)::BIGINT AS nb,
		len(s.ask_px)::BIGINT AS na, s.bid_px[1] AS sbid, s.bid_sz[1] AS sbsz, s.ask_px[1] AS sask, s.ask_sz[1] AS sasz,
		list_sort(s.bid_px, 'DESC') = s.bid_px AND list_sort(s.ask_px) = s.ask_px AS sorted,
		last(q.bid_px ORDER BY `+qt+`, q.seq) AS qbid, last(q.bid_sz ORDER BY `+qt+`, q.seq) AS qbsz,
		last(q.ask_px ORDER BY `+qt+`, q.seq) AS qask, last(q.ask_sz ORDER BY `+qt+`, q.seq) AS qasz,
		last(q.seq_id ORDER BY `+qt+`, q.seq) AS qseq, s.seq_id AS sseq
		FROM read_parquet('`+derived+`/book_snapshots/*/*.parquet') s
		LEFT JOIN read_parquet('`+data+`/quotes/*/*.parquet') q
		  ON q.inst_id = s.inst_id AND q.channel = s.channel AND `+qt+` <= epoch_ms(s.ts) * 1000000
		WHERE s.levels = 5 AND s.interval_ms = `+strconv.Itoa(intervalMs)+`
		GROUP BY ALL ORDER BY s.inst_id, b`)
	perInst := map[string]int{}
	for _, r := range rows {
		if r["in_gap"] != false || duckNum(t, r["nb"]) != 5 || duckNum(t, r["na"]) != 5 || r["sorted"] != true {
			t.Fatalf("snapshot %v", r)
		}
		for _, c := range [][2]string{{"sbid", "qbid"}, {"sbsz", "qbsz"}, {"sask", "qask"}, {"sasz", "qasz"}, {"sseq", "qseq"}} {
			if duckNum(t, r[c[0]]) != duckNum(t, r[c[1]]) {
				t.Fatalf("snapshot at %v: %s %v, last quote %s %v\n%v", r["b"], c[0], r[c[0]], c[1], r[c[1]], r)
			}
		}
		perInst[r["inst_id"].(string)]++
	}
	if len(perInst) != 2 || perInst["BTC-USDT"] < minPerInst || perInst["ETH-USDT"] < minPerInst {
		t.Fatalf("snapshots per instrument: %v", perInst)
	}
}

// snapshotFiles returns the rows and bytes of a book_snapshots dataset.
func snapshotFiles(t *testing.T, dir string) (rows, bytes int64) {
	t.Helper()
	parts, err := parquet.ListParts(dir, "book_snapshots", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		st, err := os.Stat(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		bytes += st.Size()
	}
	err = parquet.ReadDataset(dir, "book_snapshots", time.Time{}, time.Time{}, func(schema.Stored) error { rows++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return rows, bytes
}

// TestRecordDeriveBadSpec: a bad --derive is a usage error (exit 2, saying what is wrong) before connecting.
func TestRecordDeriveBadSpec(t *testing.T) {
	for args, want := range map[[2]string]string{
		{"--derive", "trade-bars=7s"}:            "divide a day",
		{"--derive", "book-snapshots=5"}:         "LEVELS@INTERVAL",
		{"--derive", "trade-bars=1s clock=x"}:    "clock",
		{"--no-store", "--derive=trade-bars=1s"}: "--no-store",
	} {
		p := start(t, nil, "record", "--out", t.TempDir(), args[0], args[1])
		p.wait(20 * time.Second)
		if msg := p.stderr.String(); p.exitCode() != 2 || !strings.Contains(msg, want) {
			t.Errorf("record %v: exit %d, stderr %q", args, p.exitCode(), msg)
		}
	}
}
