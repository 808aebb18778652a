package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/store/parquet"
)

// MergeOptions configure MergeStores.
type MergeOptions struct {
	Dirs []string // the Parquet stores to merge (two or more), e.g. of two redundant recorders
	Out  string   // the merged store; must not be an input and must hold no Parquet files
	// Window is how far apart in replay time two copies of one event may be met [60s]; the keys of the events
	// of the last Window are what the merge holds in memory.
	Window time.Duration
	Logger *slog.Logger
}

// MergeStats summarise a MergeStores run.
type MergeStats struct {
	Read       map[string]uint64 `json:"read"`       // rows read per dataset, all inputs together
	Written    map[string]uint64 `json:"written"`    // rows written per dataset
	Duplicates map[string]uint64 `json:"duplicates"` // rows left out: another input had the same event
	Renumbered uint64            `json:"renumbered"` // rows whose seq was raised to keep the arrival order
	Gaps       GapCoverage       `json:"gaps"`
	Sessions   uint64            `json:"sessions"` // session rows kept (every input's)
	WallSecs   float64           `json:"wall_s"`
	Out        string            `json:"out"`
}

// mergeBatch is how many rows of a dataset are handed to the Parquet sink at once.
const mergeBatch = 4096

// MergeStores merges Parquet stores of the same feed into one, streaming and in bounded memory:
//
//   - Every dataset except the gap ledger is read from each input in replay order (the Stream of each store,
//     which holds a few part files at a time) and the inputs are merged by the same key, (K, seq, kind). An
//     event is kept once: a row whose event key (schema.Table.Key, the exchange's identity of the event) was
//     met in the last Window of replay time is a copy and is left out, so the copy of the input that comes
//     first in replay order is kept.
//   - seq is kept, raised where needed so that the output's seq is strictly increasing in merge order
//     (redundant recorders number their arrivals with a clock, so they interleave; Renumbered counts the rest).
//     Replaying the output therefore gives the merge order; over the time both inputs covered each stream is the
//     one both recorders saw, so the digest equals the live digest of either.
//   - Sessions of every input are kept. The gap ledger is recomputed with Uncovered: a gap of one input that
//     another input recorded is reported in MergeStats.Gaps as covered and not written.
func MergeStores(ctx context.Context, o MergeOptions) (MergeStats, error) {
	started := time.Now()
	st := MergeStats{Read: map[string]uint64{}, Written: map[string]uint64{}, Duplicates: map[string]uint64{}, Out: o.Out}
	if err := checkMergeDirs(o); err != nil {
		return st, err
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	var tables []*schema.Table
	for _, t := range schema.Tables() {
		if t.Kind != schema.KindGap {
			tables = append(tables, t)
		}
	}
	ledgers := make([]Ledger, len(o.Dirs))
	ins := make([]*mergeInput, len(o.Dirs))
	defer func() {
		for _, in := range ins {
			if in != nil {
				in.s.Close()
			}
		}
	}()
	for i, dir := range o.Dirs {
		l, err := readLedger(dir)
		if err != nil {
			return st, err
		}
		// One part read ahead per input: the inputs advance together, so more would only hold memory.
		s, err := OpenWith(ctx, NewParquetSource(dir), store.Query{}, tables, StreamOptions{Workers: 1, ReadAhead: 1})
		if err != nil {
			return st, fmt.Errorf("merge: %s: %w", dir, err)
		}
		if _, last, ok := s.Bounds(); ok {
			l.LastTs = last
		}
		ledgers[i] = l
		ins[i] = &mergeInput{s: s, dir: dir}
	}
	sink := parquet.NewSink(o.Out, parquet.Options{Logger: log})
	if err := sink.Open(ctx); err != nil {
		return st, err
	}
	w := &mergeWriter{ctx: ctx, sink: sink, st: &st, batches: map[*schema.Table][]schema.Stored{},
		pools: map[*schema.Table][]schema.Stored{}}
	err := mergeRows(ctx, ins, o.Window.Milliseconds(), w)
	if err == nil {
		gaps, cov := Uncovered(ledgers)
		st.Gaps = cov
		slices.SortStableFunc(gaps, func(a, b *schema.Gap) int { return cmp.Compare(a.FromMs, b.FromMs) })
		for _, g := range gaps {
			g.Seq = 0 // numbered after the data: the ledger is written last
			w.add(schema.GapTable, g)
		}
		err = w.flushAll()
	}
	if cerr := sink.Close(ctx); err == nil {
		err = cerr
	}
	st.Sessions = st.Written[schema.SessionTable.Name]
	st.WallSecs = time.Since(started).Seconds()
	return st, err
}

func checkMergeDirs(o MergeOptions) error {
	if len(o.Dirs) < 2 {
		return errors.New("merge: give at least two stores")
	}
	if o.Out == "" {
		return errors.New("merge: no output folder")
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return err
	}
	for _, d := range o.Dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return fmt.Errorf("merge: %s: not a folder", d)
		}
		if a, _ := filepath.Abs(d); a == out {
			return fmt.Errorf("merge: the output %s is one of the inputs", o.Out)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(o.Out, "*", "date=*", "*.parquet")); len(files) > 0 {
		return fmt.Errorf("merge: %s already holds Parquet files; give an empty or new folder", o.Out)
	}
	return nil
}

// readLedger loads the sessions and gaps of one store (small datasets: one row per run and per incident).
func readLedger(dir string) (Ledger, error) {
	var l Ledger
	err := parquet.ReadDataset(dir, schema.SessionTable.Name, time.Time{}, time.Time{}, func(e schema.Stored) error {
		l.Sessions = append(l.Sessions, schema.Clone(e).(*schema.Session))
		return nil
	})
	if err == nil {
		err = parquet.ReadDataset(dir, schema.GapTable.Name, time.Time{}, time.Time{}, func(e schema.Stored) error {
			l.Gaps = append(l.Gaps, schema.Clone(e).(*schema.Gap))
			return nil
		})
	}
	if err != nil {
		return l, fmt.Errorf("merge: reading the ledgers of %s: %w", dir, err)
	}
	return l, nil
}

// mergeInput is one store's stream with its head event and the head's merge key.
type mergeInput struct {
	s   *Stream
	dir string
	ev  schema.Stored // valid until the next s.Next
	k   int64
}

func (in *mergeInput) advance() error {
	k, ok := in.s.Peek()
	if !ok {
		in.ev = nil
		if err := in.s.Err(); err != nil {
			return fmt.Errorf("merge: reading %s: %w", in.dir, err)
		}
		return nil
	}
	in.k, in.ev = k, in.s.Next()
	return nil
}

func (in *mergeInput) before(o *mergeInput) bool {
	if in.k != o.k {
		return in.k < o.k
	}
	if a, b := in.ev.Hdr().Seq, o.ev.Hdr().Seq; a != b {
		return a < b
	}
	return in.ev.Kind() < o.ev.Kind()
}

// seenKey is an event key met in the recent window: its kind and two independent 64-bit hashes of the key.
type seenKey struct {
	kind   schema.Kind
	h1, h2 uint64
}

type seenAt struct {
	key seenKey
	k   int64
}

func mergeRows(ctx context.Context, ins []*mergeInput, windowMs int64, w *mergeWriter) error {
	for _, in := range ins {
		if err := in.advance(); err != nil {
			return err
		}
	}
	seed1, seed2 := maphash.MakeSeed(), maphash.MakeSeed()
	seen := map[seenKey]struct{}{}
	var fifo []seenAt // in merge order, so expiry pops from the front
	var enc schema.KeyEncoder
	var kb []byte
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var next *mergeInput
		for _, in := range ins {
			if in.ev != nil && (next == nil || in.before(next)) {
				next = in
			}
		}
		if next == nil {
			return nil
		}
		ev, k := next.ev, next.k
		t := schema.TableOf(ev.Kind())
		w.st.Read[t.Name]++
		kb = enc.Append(kb[:0], ev)
		key := seenKey{ev.Kind(), maphash.Bytes(seed1, kb), maphash.Bytes(seed2, kb)}
		for len(fifo) > 0 && fifo[0].k < k-windowMs {
			delete(seen, fifo[0].key)
			fifo = fifo[1:]
		}
		if _, dup := seen[key]; dup {
			w.st.Duplicates[t.Name]++
		} else {
			seen[key] = struct{}{}
			fifo = append(fifo, seenAt{key, k})
			w.add(t, ev)
		}
		if err := next.advance(); err != nil {
			return err
		}
		if err := w.flushFull(); err != nil {
			return err
		}
	}
}

// mergeWriter numbers rows and hands them to the Parquet sink in batches per dataset. A batch holds copies in
// events of its own that are reused once the sink has taken their values (Write copies them into its columns).
type mergeWriter struct {
	ctx     context.Context
	sink    *parquet.Sink
	st      *MergeStats
	batches map[*schema.Table][]schema.Stored
	pools   map[*schema.Table][]schema.Stored
	buf     []byte
	lastSeq uint64
	full    *schema.Table
}

// add appends a copy of src to its dataset's batch.
func (w *mergeWriter) add(t *schema.Table, src schema.Stored) {
	b := w.batches[t]
	pool := w.pools[t]
	if len(b) == len(pool) {
		pool = append(pool, t.New())
		w.pools[t] = pool
	}
	e := pool[len(b)]
	w.buf = schema.AppendRow(w.buf[:0], src)
	if err := schema.DecodeRow(w.buf, e); err != nil {
		panic("replay: merge copy round trip failed: " + err.Error()) // a bug in a WriteRow/ReadRow pair
	}
	h := e.Hdr()
	if h.Seq <= w.lastSeq {
		if h.Seq != 0 {
			w.st.Renumbered++
		}
		h.Seq = w.lastSeq + 1
	}
	w.lastSeq = h.Seq
	w.batches[t] = append(b, e)
	if len(w.batches[t]) >= mergeBatch {
		w.full = t
	}
}

func (w *mergeWriter) flush(t *schema.Table) error {
	b := w.batches[t]
	if len(b) == 0 {
		return nil
	}
	if err := w.sink.Write(w.ctx, store.Batch{Table: t, Events: b}); err != nil {
		return fmt.Errorf("merge: writing %s: %w", t.Name, err)
	}
	w.st.Written[t.Name] += uint64(len(b))
	w.batches[t] = b[:0]
	return nil
}

func (w *mergeWriter) flushFull() error {
	if w.full == nil {
		return nil
	}
	t := w.full
	w.full = nil
	return w.flush(t)
}

func (w *mergeWriter) flushAll() error {
	for t := range w.batches {
		if err := w.flush(t); err != nil {
			return err
		}
	}
	return nil
}
