package parquet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// byTable splits events by dataset.
func byTable(evs []schema.Stored) map[string][]schema.Stored {
	out := map[string][]schema.Stored{}
	for _, e := range evs {
		n := schema.TableOf(e.Kind()).Name
		out[n] = append(out[n], e)
	}
	return out
}

// TestRecorderCursorPastEndKeepsSpool is finding 8's last part: a cursor past the spool's end made the
// recorder delete the segment silently. It is now reported, ignored, and every record is delivered.
func TestRecorderCursorPastEndKeepsSpool(t *testing.T) {
	spoolDir, dataDir := t.TempDir(), t.TempDir()
	down := newRecFakeSink("down")
	down.failWrite = func(int) bool { return true }
	evs := storetest.RandEvents(31, 2000)
	rec := newTestRecorder(t, spoolDir, store.RecorderOptions{DrainTimeout: 100e6}, down)
	for _, e := range evs {
		rec.Handle(e)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{`{"sink":"parquet","pos":999999999}`, `not json`} {
		if err := os.WriteFile(filepath.Join(spoolDir, "cursor-parquet.json"), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		pq := NewSink(dataDir, Options{Logger: storetest.Quiet()})
		rec := newTestRecorder(t, spoolDir, store.RecorderOptions{}, pq)
		if err := rec.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := rec.Stats(); st.BadCursors != 1 {
			t.Fatalf("cursor %s: bad cursors %d", c, st.BadCursors)
		}
		checkParquet(t, dataDir, evs) // everything, once (the second round skips what is stored)
	}
}

// TestRecorderDiskWatermarks is finding 2 at the recorder: below the low mark raw frames are shed, then
// quotes, below the critical mark nothing is accepted; every drop is counted per dataset, Close fails, and
// a start below the critical mark is refused.
func TestRecorderDiskWatermarks(t *testing.T) {
	var free atomic.Uint64
	free.Store(100 << 20)
	o := store.RecorderOptions{DiskLowBytes: 40 << 20, DiskCriticalBytes: 10 << 20, DiskCheckInterval: 1e6,
		SyncInterval: 1e6, FreeBytes: func(string) (uint64, error) { return free.Load(), nil }}
	spoolDir, dataDir := t.TempDir(), t.TempDir()
	pq := NewSink(dataDir, Options{Logger: storetest.Quiet()})
	rec := newTestRecorder(t, spoolDir, o, pq)
	want := map[string]uint64{}
	stored := []schema.Stored{}
	feed := func(seed uint64, shed ...string) {
		for _, e := range storetest.RandEvents(seed, 1000) {
			e.Hdr().Seq += seed * 10000
			rec.Handle(e)
			name := schema.TableOf(e.Kind()).Name
			if len(shed) > 0 && (shed[0] == "*" || strings.Contains(strings.Join(shed, ","), name)) {
				want[name]++
			} else {
				stored = append(stored, e)
			}
		}
	}
	level := func(f uint64, name string) {
		free.Store(f)
		testenv.Eventually(t, 20*time.Second, func() bool { return rec.Stats().Disk == name }, "disk level %q", name)
	}
	feed(1)
	if pq.Stats().Files != 0 {
		t.Fatal("files written before their time budget")
	}
	level(30<<20, "low")
	// Short of disk, buffered rows are written out so the spool behind them can go.
	testenv.Eventually(t, 20*time.Second, func() bool { return pq.Stats().Files > 0 }, "no Parquet file written under disk pressure")
	feed(2, "raw")
	level(20<<20, "lower")
	feed(3, "raw", "quotes")
	level(5<<20, "critical")
	feed(4, "*")
	level(60<<20, "ok")
	feed(5)
	err := rec.Close(context.Background())
	st := rec.Stats()
	if err == nil || !strings.Contains(err.Error(), "not recorded") || !st.DiskWasCritical {
		t.Fatalf("close after drops: %v, stats %+v", err, st)
	}
	var total uint64
	for name, n := range want {
		if st.DroppedPerDataset[name] != n {
			t.Errorf("%s dropped %d, want %d", name, st.DroppedPerDataset[name], n)
		}
		total += n
	}
	if st.Dropped != total || len(st.DroppedPerDataset) != len(want) {
		t.Errorf("dropped %d %v, want %d %v", st.Dropped, st.DroppedPerDataset, total, want)
	}
	checkParquet(t, dataDir, stored)

	// Full at start: refused, nothing accepted.
	free.Store(1 << 20)
	rec2, err := store.NewRecorder(store.RecorderOptions{SpoolDir: spoolDir, DiskLowBytes: 40 << 20, DiskCriticalBytes: 10 << 20,
		FreeBytes: o.FreeBytes, Logger: storetest.Quiet()}, NewSink(dataDir, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	var dce *store.DiskCriticalError
	if err := rec2.Start(context.Background()); !errors.As(err, &dce) {
		t.Fatalf("start on a full disk: %v", err)
	}
	rec2.Close(context.Background())
}

// permSink rejects every batch of one table permanently and stores the others (a schema broken on one table).
type permSink struct {
	*recFakeSink
	bad string
}

func (p *permSink) Write(ctx context.Context, b store.Batch) error {
	if b.Table.Name == p.bad {
		return store.Permanent(fmt.Errorf("table %s: no such column", p.bad))
	}
	return p.recFakeSink.Write(ctx, b)
}

// TestRecorderQuarantinesPermanentErrors is finding 3 at the recorder: a table rejected permanently used to be
// retried forever and block every other table. Its batches now go to dead-letter Parquet files, whole, and the
// other tables are delivered; Close reports the quarantine.
func TestRecorderQuarantinesPermanentErrors(t *testing.T) {
	deadDir := t.TempDir()
	ps := &permSink{recFakeSink: newRecFakeSink("ch"), bad: "trades"}
	rec := newTestRecorder(t, t.TempDir(), store.RecorderOptions{BatchSize: 50, DeadLetter: DeadLetter(deadDir, Options{})}, ps)
	evs := storetest.RandEvents(41, 4000)
	for _, e := range evs {
		rec.Handle(e)
	}
	err := rec.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "rejected rows permanently") {
		t.Fatalf("close: %v", err)
	}
	want := byTable(evs)
	for name, w := range want {
		if name == "trades" {
			continue
		}
		storetest.SameEvents(t, ps.events(name), w)
	}
	if q := rec.Stats().PerSink["ch"].Quarantined["trades"]; q != uint64(len(want["trades"])) {
		t.Fatalf("quarantined %d trades, want %d", q, len(want["trades"]))
	}
	checkParquet(t, filepath.Join(deadDir, "ch"), want["trades"])
}

// TestRecorderShutdownDoesNotWaitOutDeadSink is finding 11: a signal waited the whole drain timeout (30 s)
// whenever a sink was failing. A dead sink now gets a few attempts; with a one-hour DrainTimeout this test
// would time out otherwise. Its records stay in the spool; the healthy sink gets everything.
func TestRecorderShutdownDoesNotWaitOutDeadSink(t *testing.T) {
	dead := newRecFakeSink("dead")
	dead.failWrite = func(int) bool { return true }
	spoolDir, dataDir := t.TempDir(), t.TempDir()
	rec := newTestRecorder(t, spoolDir, store.RecorderOptions{DrainTimeout: 1 << 62, MaxBackoff: 1 << 62},
		dead, NewSink(dataDir, Options{Logger: storetest.Quiet()}))
	evs := storetest.RandEvents(51, 1000)
	for _, e := range evs {
		rec.Handle(e)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := rec.Stats(); st.PerSink["dead"].BacklogBytes == 0 || len(segFiles(t, spoolDir)) == 0 {
		t.Fatalf("dead sink's records not kept: %+v", st)
	}
	checkParquet(t, dataDir, evs)
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// TestPrivateDatasetsAre0600 is finding 10's store part: orders and balances were written 0644.
func TestPrivateDatasetsAre0600(t *testing.T) {
	dir := t.TempDir()
	s := NewSink(dir, Options{Logger: storetest.Quiet()})
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	evs := storetest.RandEvents(61, 3000)
	for name, w := range byTable(evs) {
		if err := s.Write(ctx, store.Batch{Table: schema.TableOf(w[0].Kind()), Events: storetest.BySeq(w)}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tb := range schema.Tables() {
		files, _ := filepath.Glob(filepath.Join(dir, tb.Name, "date=*", "*.parquet"))
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if privateDatasets[tb.Name] {
				seen[tb.Name] = true
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
				}
			} else if want := FileMode(tb.Name) &^ umask(); fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", f, fi.Mode().Perm(), want)
			}
		}
	}
	if len(seen) != len(privateDatasets) {
		t.Fatalf("private datasets written: %v", seen)
	}
}

// TestRecorderRedeliversDroppedFile: a dataset whose files cannot be written (its folder is blocked by a
// plain file) makes the sink drop its open file (store.ErrRedeliver); the recorder reads the spool again
// from its cursor, over and over with a backoff, and once the folder can be written every event is stored
// exactly once, those of the other datasets (already stored) included.
func TestRecorderRedeliversDroppedFile(t *testing.T) {
	spoolDir, dataDir := t.TempDir(), t.TempDir()
	pq := NewSink(dataDir, Options{Logger: storetest.Quiet(), RowGroupRows: 16})
	rec := newTestRecorder(t, spoolDir, store.RecorderOptions{MaxBackoff: 50 * time.Millisecond, BatchSize: 50}, pq)
	blocker := filepath.Join(dataDir, "tickers")
	if err := os.WriteFile(blocker, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	evs := storetest.RandEvents(41, 3000)
	tickers := 0
	for _, e := range evs {
		rec.Handle(e)
		if e.Kind() == schema.KindTicker {
			tickers++
		}
	}
	if tickers == 0 {
		t.Fatal("no tickers in the input")
	}
	deadline := time.Now().Add(20 * time.Second)
	for rec.Stats().PerSink["parquet"].Errors < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the blocked dataset never failed a write")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkParquet(t, dataDir, evs)
	if st := rec.Stats(); st.Dropped != 0 {
		t.Fatalf("dropped %d", st.Dropped)
	}
}
