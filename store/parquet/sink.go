package parquet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// DefaultRotation is the default time budget of a Parquet file.
const DefaultRotation = 5 * time.Minute

// Options configure a Sink. Zero values take the defaults in brackets.
type Options struct {
	RowGroupRows int // rows per row group, about [8192] (rowgroups.go)
	MaxFileRows  int // a file closes at this many rows [262144]
	MaxFileBytes int // ... or once its rows took about this many bytes in memory [32 MiB]
	// Rotation is the time budget of a file: open files close when the wall clock crosses a multiple of
	// Rotation [5m]. It bounds the spool too: the recorder keeps every record of an open file there.
	Rotation         time.Duration
	CompressionLevel int              // zstd level [library default, 3]
	RawFrameLevel    int              // zstd level of the raw dataset's frame column [7]; -1: CompressionLevel
	Now              func() time.Time // wall clock for rotation and file names [time.Now]
	Logger           *slog.Logger     // [slog.Default()]
	// MaxBufferedBytes caps the rows waiting for their row group across all datasets and instruments
	// [24 MiB]: when they take more, the largest instrument buffer is written early as a row group. The
	// buffers' memory stays within about 1.5 times this (a buffer written early gives its memory back when
	// they hold more), whatever the file sizes; add one row group being encoded. Smaller budgets make
	// smaller row groups of wide rows (400-level books: 16 MiB stores them 12 % larger on the bench mix,
	// 24 MiB 4 %, 32 MiB as whole files did).
	MaxBufferedBytes int
}

func (o *Options) defaults() {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = 8 << 10
	}
	if o.MaxFileRows <= 0 {
		o.MaxFileRows = 256 << 10
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 32 << 20
	}
	if o.RawFrameLevel == 0 {
		o.RawFrameLevel = 7
	}
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = 24 << 20
	}
	if o.Rotation <= 0 {
		o.Rotation = DefaultRotation
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Sink writes one hive-partitioned dataset per table under a directory (see layout.go):
// DIR/<dataset>/date=YYYY-MM-DD/part-<HHMMSS>-<firstSeq>-<lastSeq>.parquet.
//
// Each dataset has one open file, written as it fills (rowgroups.go): rows wait per instrument in typed
// column buffers and each row group, sorted by (inst_id, ts, seq), is encoded and appended to the file as soon
// as it is complete, so memory is bounded by MaxBufferedBytes, not by the file. A file is completed when the
// UTC day of the rows' ts changes, at MaxFileRows/MaxFileBytes, at each Rotation boundary of the wall clock,
// and at Flush/Close: zstd, dictionary encoding only for dictionary columns (instrument ids, channels...),
// DELTA_BINARY_PACKED for integers and timestamps, statistics on. It is written as a ".parquet.tmp" file,
// fsynced and renamed, so a reader never sees a partial file. Pending reports the smallest seq of any open
// file: the recorder keeps the spool from there.
//
// A failed write (disk full, an I/O error, a blocked rename) drops the open file with its rows and returns
// an error wrapping store.ErrRedeliver: the recorder then delivers the spooled records again from its cursor
// (which is before every row of an open file), and Pending keeps reporting the dropped file's first seq
// until the next Write.
//
// Write is idempotent by seq: an event whose seq lies in the range of a completed part file of its dataset
// (found on disk at Open, or written since) or of the open file is skipped. This assumes, as the engine
// guarantees live, that seqs increase in arrival order.
//
// Concurrency: Open, Write, Pending, Flush, Close are called from one goroutine (the recorder's dispatcher);
// Stats may be called from any goroutine. One Sink per directory.
type Sink struct {
	dir   string
	o     Options
	props [schema.NumKinds]*tableProps
	files [schema.NumKinds]*fileWriter
	done  [schema.NumKinds][]seqRange // completed part files, sorted by first
	// buffered is the bytes of rows waiting in instrument buffers, over all datasets.
	buffered int
	// redeliver is the first seq of a file dropped by a failed write, reported by Pending until the next
	// Write (redeliverSet).
	redeliver    uint64
	redeliverSet bool

	mu       sync.Mutex
	rows     map[string]uint64
	nfiles   uint64
	skipped  uint64
	rejected uint64
	// rejectedBy counts rejected rows per table; the first of each table is logged, the rest only counted.
	rejectedBy [schema.NumKinds]uint64
}

type seqRange struct{ first, last uint64 }

// NewSink returns a sink writing under dir. Nothing touches the disk before Open.
func NewSink(dir string, o Options) *Sink {
	o.defaults()
	return &Sink{dir: dir, o: o, rows: map[string]uint64{}}
}

// Name implements Sink.
func (s *Sink) Name() string { return "parquet" }

// Open creates the directory, removes temporary files left by a crash (their rows are still in the spool)
// and loads the seq ranges of the completed part files, which makes redelivery idempotent.
func (s *Sink) Open(ctx context.Context) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("parquet: create %s: %w", s.dir, err)
	}
	tmps, err := Glob(s.dir, "*", "date=*", "*.parquet.tmp")
	if err != nil {
		return fmt.Errorf("parquet: look for incomplete files in %s: %w", s.dir, err)
	}
	for _, t := range tmps {
		if err := os.Remove(t); err != nil {
			return fmt.Errorf("parquet: remove incomplete file: %w", err)
		}
	}
	if len(tmps) > 0 {
		s.o.Logger.Info("parquet: removed incomplete files of a previous run (their rows are redelivered from the spool)",
			"n", len(tmps))
	}
	for _, t := range schema.Tables() {
		parts, err := ListParts(s.dir, t.Name, time.Time{}, time.Time{})
		if err != nil {
			return fmt.Errorf("parquet: list %s: %w", t.Name, err)
		}
		rs := make([]seqRange, 0, len(parts))
		for _, p := range parts {
			rs = append(rs, seqRange{p.FirstSeq, p.LastSeq})
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].first < rs[j].first })
		s.done[t.Kind] = rs
	}
	return nil
}

// isDup reports whether a completed file or the open file of kind k already holds seq.
func (s *Sink) isDup(k schema.Kind, seq uint64) bool {
	if w := s.files[k]; w != nil && w.active && seq >= w.minSeq && seq <= w.maxSeq {
		return true
	}
	rs := s.done[k]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].first > seq }) - 1
	return i >= 0 && seq <= rs[i].last
}

const msPerDay = 86_400_000

func dayOf(ts int64) int64 {
	d := ts / msPerDay
	if ts%msPerDay < 0 {
		d--
	}
	return d
}

// Write implements Sink: it appends the batch to the dataset's open file, completing the file first when
// the day changes or it is full. An error that is not store.ErrRedeliver (a file's folders could not be
// fsynced) leaves the rows accepted so far in place; the retried batch skips them.
func (s *Sink) Write(ctx context.Context, b store.Batch) error {
	if b.Table == nil {
		return errors.New("parquet: batch without table")
	}
	s.redeliverSet = false
	k := b.Table.Kind
	if err := s.Housekeep(ctx); err != nil {
		return err
	}
	w, err := s.writer(b.Table)
	if err != nil {
		return err
	}
	var skipped, rejected uint64
	for _, e := range b.Events {
		h := e.Hdr()
		if s.isDup(k, h.Seq) {
			skipped++
			continue
		}
		day := dayOf(h.Ts)
		if w.active && (w.day != day || w.rows >= s.o.MaxFileRows || w.bytes >= s.o.MaxFileBytes) {
			if err := s.closeFile(k); err != nil {
				return err
			}
		}
		if !w.active {
			now := s.o.Now()
			w.open(day, now, PartPath(s.dir, b.Table.Name, time.UnixMilli(day*msPerDay), now, h.Seq, h.Seq)+".tmp")
		}
		d, rowErr, writeErr := w.add(e)
		s.buffered += d
		if rowErr != nil {
			rejected++
			s.reject(k, rowErr)
			continue
		}
		if writeErr != nil {
			return s.abort(k, writeErr)
		}
		if s.buffered > s.o.MaxBufferedBytes {
			if err := s.flushLargest(); err != nil {
				return err
			}
		}
	}
	if skipped > 0 || rejected > 0 {
		metricParquetSkipped.Add(float64(skipped))
		s.mu.Lock()
		s.skipped += skipped
		s.rejected += rejected
		s.mu.Unlock()
	}
	return nil
}

// writer returns the file writer of table t.
func (s *Sink) writer(t *schema.Table) (*fileWriter, error) {
	if w := s.files[t.Kind]; w != nil {
		return w, nil
	}
	tp, err := newTableProps(t, s.o)
	if err != nil {
		return nil, err
	}
	s.props[t.Kind] = tp
	w := newFileWriter(tp, s.o.RowGroupRows)
	s.files[t.Kind] = w
	return w, nil
}

// flushLargest writes the largest instrument buffer of any dataset as a row group (the sink is over
// MaxBufferedBytes).
func (s *Sink) flushLargest() error {
	big, bytes := -1, 0
	for k, w := range s.files {
		if w == nil || !w.active {
			continue
		}
		if ib := w.largest(); ib != nil && ib.buf.bytes > bytes {
			big, bytes = k, ib.buf.bytes
		}
	}
	if big < 0 {
		return nil
	}
	metricParquetEarlyClose.Inc()
	// Buffers keep their memory for the next rows, unless all of them together hold more than 1.5 times the
	// budget: then the one written gives its memory back.
	d, err := s.files[big].flushLargest(s.heldBytes() > s.o.MaxBufferedBytes*3/2)
	s.buffered += d
	if err != nil {
		return s.abort(schema.Kind(big), err)
	}
	return nil
}

// abort drops the open file of kind k after a failed write and asks for redelivery from its first seq.
func (s *Sink) abort(k schema.Kind, err error) error {
	w := s.files[k]
	s.buffered -= w.buffered
	first := w.minSeq
	err = w.abort(err)
	s.noteRedeliver(first)
	return fmt.Errorf("parquet: %w (%w)", err, store.ErrRedeliver)
}

func (s *Sink) noteRedeliver(seq uint64) {
	if !s.redeliverSet || seq < s.redeliver {
		s.redeliver, s.redeliverSet = seq, true
	}
}

// reject counts a row that did not match its table (a schema bug) and logs the first one of each table.
func (s *Sink) reject(k schema.Kind, err error) {
	metricParquetRejected.Inc()
	s.rejectedBy[k]++
	if s.rejectedBy[k] == 1 {
		s.o.Logger.Error("parquet: row rejected (a schema bug); further rejected rows of this table are counted, not logged",
			"table", schema.TableOf(k).Name, "err", err)
	}
}

// Pending implements Sink: the smallest seq in any open file (or in a file a failed write dropped, until the
// next Write).
func (s *Sink) Pending() (uint64, bool) {
	low, ok := s.redeliver, s.redeliverSet
	for _, w := range s.files {
		if w != nil && w.active && w.rows > 0 && (!ok || w.minSeq < low) {
			low, ok = w.minSeq, true
		}
	}
	return low, ok
}

// Housekeep implements store.Housekeeper: it writes the files opened before the current Rotation boundary.
func (s *Sink) Housekeep(ctx context.Context) error {
	now := s.o.Now().Truncate(s.o.Rotation)
	var errs []error
	for k, w := range s.files {
		if w != nil && w.active && w.opened.Truncate(s.o.Rotation).Before(now) {
			if err := s.closeFile(schema.Kind(k)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Flush implements Sink: it writes every open file.
func (s *Sink) Flush(ctx context.Context) error {
	var errs []error
	for k := range s.files {
		if err := s.closeFile(schema.Kind(k)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close implements Sink: Flush.
func (s *Sink) Close(ctx context.Context) error { return s.Flush(ctx) }

// closeFile completes the open file of kind k under its final name. On a failed write the file and its rows
// are dropped (store.ErrRedeliver).
func (s *Sink) closeFile(k schema.Kind) error {
	w := s.files[k]
	if w == nil || !w.active {
		return nil
	}
	s.buffered -= w.buffered
	if w.rows == 0 {
		w.close()
		return nil
	}
	t := w.tp.t
	first, last, rows := w.minSeq, w.maxSeq, w.rows
	final := PartPath(s.dir, t.Name, time.UnixMilli(w.day*msPerDay), w.opened, first, last)
	renamed, err := w.finish(final)
	if !renamed {
		if err == nil {
			return nil
		}
		s.noteRedeliver(first)
		return fmt.Errorf("parquet: write %s: %w (%w)", final, err, store.ErrRedeliver)
	}
	rs := s.done[k]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].first > first })
	s.done[k] = append(rs[:i], append([]seqRange{{first, last}}, rs[i:]...)...)
	metricParquetFiles.Inc()
	s.mu.Lock()
	s.rows[t.Name] += uint64(rows)
	s.nfiles++
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("parquet: %s written, but: %w", final, err)
	}
	return nil
}

// Stats implements store.StatsReporter: rows in completed files per dataset, and files written.
func (s *Sink) Stats() store.SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := store.SinkStats{Rows: make(map[string]uint64, len(s.rows)), Files: s.nfiles}
	for k, v := range s.rows {
		st.Rows[k] = v
	}
	return st
}

// Skipped returns how many redelivered events were skipped as already stored, and how many rows were
// rejected because they did not match their table (a bug; logged).
func (s *Sink) Skipped() (duplicates, rejected uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped, s.rejected
}

// heldBytes returns the memory of every instrument buffer.
func (s *Sink) heldBytes() int {
	n := 0
	for _, w := range s.files {
		if w != nil {
			n += w.capBytes()
		}
	}
	return n
}

// bufferedNow sums the bytes waiting in every instrument buffer (the running count buffered is kept equal).
func (s *Sink) bufferedNow() int {
	n := 0
	for _, w := range s.files {
		if w == nil {
			continue
		}
		for _, ib := range w.insts {
			n += ib.buf.bytes
		}
	}
	return n
}
