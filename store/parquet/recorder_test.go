package parquet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "seg-*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newTestRecorder(t *testing.T, spoolDir string, o store.RecorderOptions, sinks ...store.Sink) *store.Recorder {
	t.Helper()
	o.SpoolDir = spoolDir
	if o.Logger == nil {
		o.Logger = storetest.Quiet()
	}
	rec, err := store.NewRecorder(o, sinks...)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rec
}

// checkParquet reads dir back and checks it holds exactly want (by seq), each row equal.
func checkParquet(t *testing.T, dir string, want []schema.Stored) {
	t.Helper()
	got := pqReadAll(t, dir)
	byName := map[string][]schema.Stored{}
	for _, e := range want {
		n := schema.TableOf(e.Kind()).Name
		byName[n] = append(byName[n], e)
	}
	for _, tb := range schema.Tables() {
		g, w := storetest.BySeq(got[tb.Name]), byName[tb.Name]
		if len(g) != len(w) {
			t.Fatalf("%s: %d rows stored, want %d", tb.Name, len(g), len(w))
		}
		for i := range w {
			if !storetest.EqualRows(g[i], w[i]) {
				t.Fatalf("%s: row %d differs", tb.Name, i)
			}
		}
	}
}

func TestRecorderParquetEndToEnd(t *testing.T) {
	spoolDir, dataDir := t.TempDir(), t.TempDir()
	pq := NewSink(dataDir, Options{MaxFileRows: 300, Logger: storetest.Quiet()})
	rec := newTestRecorder(t, spoolDir, store.RecorderOptions{SegmentBytes: 16 << 10, FlushInterval: 20 * time.Millisecond,
		SyncInterval: 5 * time.Millisecond, BatchSize: 50}, pq)
	evs := storetest.RandEvents(21, 20000)
	rec.Handle(&schema.Connected{}) // not stored: ignored
	for i, e := range evs {
		rec.Handle(e)
		if i%2000 == 1999 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// While running, segments that every sink made durable are deleted.
	testenv.WaitFor(10*time.Second, func() bool { return len(segFiles(t, spoolDir)) <= 12 })
	if n := len(segFiles(t, spoolDir)); n > 12 {
		t.Fatalf("%d spool segments left while running", n)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, spoolDir)); n != 0 {
		t.Fatalf("%d spool segments left after a clean close", n)
	}
	st := rec.Stats()
	if st.Accepted != uint64(len(evs)) || st.Dropped != 0 || st.SpoolBytes != 0 {
		t.Fatalf("stats %+v", st)
	}
	var rows uint64
	for _, v := range st.PerSink["parquet"].Rows {
		rows += v
	}
	if rows != uint64(len(evs)) || st.PerSink["parquet"].Files == 0 {
		t.Fatalf("parquet stats %+v", st.PerSink["parquet"])
	}
	if _, err := json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	checkParquet(t, dataDir, evs)
	pqCheckFilesSorted(t, dataDir)
	rec.Handle(evs[0]) // after Close: counted as dropped
	if rec.Stats().Dropped != 1 {
		t.Fatal("event after Close not counted")
	}
}

func TestRecorderFailingSinkRetriesInOrder(t *testing.T) {
	fs := newRecFakeSink("fake")
	fs.failWrite = func(n int) bool { return n > 0 && n%3 != 0 } // two of three writes fail
	rec := newTestRecorder(t, t.TempDir(), store.RecorderOptions{BatchSize: 100, FlushInterval: 10 * time.Millisecond,
		SyncInterval: 5 * time.Millisecond, MaxBackoff: time.Millisecond}, fs)
	evs := storetest.RandEvents(22, 6000)
	for _, e := range evs {
		rec.Handle(e)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tb := range schema.Tables() {
		var want []schema.Stored
		for _, e := range evs {
			if e.Kind() == tb.Kind {
				want = append(want, e)
			}
		}
		got := fs.events(tb.Name)
		storetest.SameEvents(t, got, want) // same order: no loss, no duplicate, no reordering
	}
	st := rec.Stats().PerSink["fake"]
	if st.Errors == 0 || st.Retries == 0 || st.BacklogBytes != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRecorderSlowSinkDoesNotBlock(t *testing.T) {
	dataDir := t.TempDir()
	slow := newRecFakeSink("slow")
	slow.block = make(chan struct{})
	pq := NewSink(dataDir, Options{Logger: storetest.Quiet()})
	rec := newTestRecorder(t, t.TempDir(), store.RecorderOptions{SyncInterval: 5 * time.Millisecond,
		FlushInterval: 10 * time.Millisecond}, slow, pq)
	evs := storetest.RandEvents(23, 30000)
	t0 := time.Now()
	for _, e := range evs {
		rec.Handle(e)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("Handle blocked: %v for %d events", d, len(evs))
	}
	time.Sleep(100 * time.Millisecond)
	close(slow.block)
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if slow.total() != len(evs) {
		t.Fatalf("slow sink got %d", slow.total())
	}
	checkParquet(t, dataDir, evs)
}

func TestRecorderSinkDownAtShutdownKeepsSpool(t *testing.T) {
	spoolDir, dataDir := t.TempDir(), t.TempDir()
	down := newRecFakeSink("ch")
	down.failWrite = func(int) bool { return true }
	rec := newTestRecorder(t, spoolDir, store.RecorderOptions{SyncInterval: 5 * time.Millisecond, SegmentBytes: 8 << 10,
		DrainTimeout: 300 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		down, NewSink(dataDir, Options{Logger: storetest.Quiet()}))
	evs := storetest.RandEvents(24, 3000)
	for _, e := range evs {
		rec.Handle(e)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := rec.Stats()
	if st.PerSink["ch"].BacklogBytes == 0 || st.SpoolBytes == 0 || len(segFiles(t, spoolDir)) == 0 {
		t.Fatalf("records of the down sink not kept: %+v", st)
	}
	checkParquet(t, dataDir, evs)

	// Next start: the sink is back and gets everything, in order; Parquet gets nothing twice.
	up := newRecFakeSink("ch")
	more := storetest.RandEvents(25, 10)
	for i, e := range more {
		e.Hdr().Seq = uint64(len(evs) + i + 1)
	}
	rec2 := newTestRecorder(t, spoolDir, store.RecorderOptions{SyncInterval: 5 * time.Millisecond},
		up, NewSink(dataDir, Options{Logger: storetest.Quiet()}))
	for _, e := range more {
		rec2.Handle(e)
	}
	if err := rec2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := append(append([]schema.Stored(nil), evs...), more...)
	if got := up.order; len(got) != len(all) {
		t.Fatalf("recovered sink got %d, want %d", len(got), len(all))
	}
	if r := rec2.Stats(); r.SpoolRecoveredRecords != uint64(len(evs)) || r.SpoolBytes != 0 {
		t.Fatalf("stats after recovery %+v", r)
	}
	checkParquet(t, dataDir, all)
}

const crashEnv = "OKXTAPE_RECORDER_CRASH_DIR"

// TestRecorderCrashChild is the child process of TestRecorderCrashRecovery: it records a deterministic
// event stream and reports, after each spool sync, how many events are durable; the parent SIGKILLs it.
func TestRecorderCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child process of TestRecorderCrashRecovery")
	}
	pq := NewSink(filepath.Join(dir, "data"), Options{MaxFileRows: 400, Logger: storetest.Quiet()})
	rec := newTestRecorder(t, filepath.Join(dir, "spool"), store.RecorderOptions{SyncInterval: 10 * time.Millisecond,
		FlushInterval: 20 * time.Millisecond, BatchSize: 100, SegmentBytes: 32 << 10}, pq)
	next := storetest.EventStream(99)
	for n := 1; ; n++ {
		rec.Handle(next())
		if n%1000 == 0 {
			for rec.Unsynced() > 0 {
				time.Sleep(time.Millisecond)
			}
			fmt.Printf("SYNCED %d\n", n)
		}
	}
}

func TestRecorderCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecorderCrashChild$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once 12000 events are synced and some Parquet files are complete (so recovery must skip the
	// events they hold), mid-stream: the child keeps handling events.
	synced := 0
	var files []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && synced < 300000 {
		if v, ok := strings.CutPrefix(sc.Text(), "SYNCED "); ok {
			synced, _ = strconv.Atoi(v)
			files, _ = filepath.Glob(filepath.Join(dir, "data", "*", "date=*", "*.parquet"))
			if synced >= 12000 && len(files) > 0 {
				break
			}
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if synced < 12000 || len(files) == 0 {
		t.Fatalf("child reported %d synced events and %d files", synced, len(files))
	}

	// Restart on the same spool: everything synced ends up in Parquet, nothing twice.
	pq := NewSink(filepath.Join(dir, "data"), Options{Logger: storetest.Quiet()})
	rec := newTestRecorder(t, filepath.Join(dir, "spool"), store.RecorderOptions{}, pq)
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Finding 11: the crash leaves a gap row covering the window from the last spooled event to the restart.
	if g := rec.CrashGap(); g == nil || g.Reason != store.GapCrash || g.FromMs <= 0 || g.FromMs > g.ToMs {
		t.Fatalf("crash gap %+v", g)
	}
	got := pqReadAll(t, filepath.Join(dir, "data"))
	total := 0
	for _, v := range got {
		total += len(v)
	}
	if total < synced {
		t.Fatalf("recovered %d events, %d were synced before the kill", total, synced)
	}
	// The stored events are exactly the first `total` events of the stream.
	checkParquet(t, filepath.Join(dir, "data"), storetest.RandEvents(99, total))
	st := rec.Stats()
	t.Logf("synced before kill %d, stored %d (%d files before restart), recovered from spool %d, duplicates skipped %v",
		synced, total, len(files), st.SpoolRecoveredRecords, fmt.Sprint(pq.Skipped()))
}

func TestDuckDBReadsParquet(t *testing.T) {
	// DuckDB (npm @duckdb/node-api via scripts/duckdb-install.sh): an engine that is not ours.
	script := testenv.DuckDBScript(t)
	dir := t.TempDir()
	pq := NewSink(dir, Options{})
	if err := pq.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := storetest.NewTickerGen(1, 10)
	var evs []schema.Stored
	for i := 0; i < 1000; i++ {
		evs = append(evs, schema.Clone(g.Next()))
	}
	pqWriteAll(t, pq, map[*schema.Table][]schema.Stored{schema.TickerTable: evs})
	q := fmt.Sprintf(`SELECT count(*)::VARCHAR || ',' || count(DISTINCT inst_id)::VARCHAR || ',' || sum(seq %% 1000)::VARCHAR
		|| ',' || typeof(any_value(ts)) AS r FROM read_parquet('%s/tickers/*/*.parquet', hive_partitioning=true)`, dir)
	out, err := exec.Command("node", script, q).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	var sum uint64
	for _, e := range evs {
		sum += e.Hdr().Seq % 1000
	}
	want := fmt.Sprintf(`[{"r":"1000,10,%d,TIMESTAMP WITH TIME ZONE"}]`, sum)
	if strings.TrimSpace(string(out)) != want {
		t.Fatalf("duckdb says %s, want %s", out, want)
	}
}

// recFakeSink stores accepted batches in memory. failWrite decides whether attempt n (1-based, counting every
// call) fails. Only accepted batches are stored, so "no loss, no duplicate" is exact.
type recFakeSink struct {
	name      string
	mu        sync.Mutex
	calls     int
	failWrite func(n int) bool
	block     chan struct{} // when set, Write waits for it to be closed
	got       map[string][]schema.Stored
	order     []uint64 // seqs in acceptance order, all tables
	closed    bool
}

func newRecFakeSink(name string) *recFakeSink {
	return &recFakeSink{name: name, got: map[string][]schema.Stored{}}
}

func (f *recFakeSink) Name() string                   { return f.name }
func (f *recFakeSink) Open(ctx context.Context) error { return nil }
func (f *recFakeSink) Pending() (uint64, bool)        { return 0, false }
func (f *recFakeSink) Flush(ctx context.Context) error {
	if f.failWrite != nil && f.failWrite(-1) {
		return errors.New("fake: flush failed")
	}
	return nil
}
func (f *recFakeSink) Close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func (f *recFakeSink) Write(ctx context.Context, b store.Batch) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failWrite != nil && f.failWrite(f.calls) {
		return fmt.Errorf("fake: write %d failed", f.calls)
	}
	for _, e := range b.Events {
		f.got[b.Table.Name] = append(f.got[b.Table.Name], schema.Clone(e))
		f.order = append(f.order, e.Hdr().Seq)
	}
	return nil
}

func (f *recFakeSink) events(dataset string) []schema.Stored {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]schema.Stored(nil), f.got[dataset]...)
}

func (f *recFakeSink) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.got {
		n += len(v)
	}
	return n
}

// pqReadAll reads every part of every dataset under dir into clones, keyed by dataset.
func pqReadAll(t testing.TB, dir string) map[string][]schema.Stored {
	t.Helper()
	out := map[string][]schema.Stored{}
	for _, tb := range schema.Tables() {
		err := ReadDataset(dir, tb.Name, time.Time{}, time.Time{}, func(e schema.Stored) error {
			out[tb.Name] = append(out[tb.Name], schema.Clone(e))
			return nil
		})
		if err != nil {
			t.Fatalf("read %s: %v", tb.Name, err)
		}
	}
	return out
}
