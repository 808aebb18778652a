package parquet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
	RowGroupRows int // rows per row group [131072]
	MaxFileRows  int // a file closes at this many rows [262144]
	MaxFileBytes int // ... or at about this many buffered bytes [32 MiB]
	// Rotation is the time budget of a file: open files close when the wall clock crosses a multiple of
	// Rotation [5m]. It bounds the spool too: the recorder keeps every record of an open file there.
	Rotation         time.Duration
	CompressionLevel int              // zstd level [library default, 3]
	Now              func() time.Time // wall clock for rotation and file names [time.Now]
	Logger           *slog.Logger     // [slog.Default()]
	// MaxBufferedBytes caps the rows buffered across all datasets [64 MiB]: when the open files hold more,
	// the largest is written early. Buffers kept for reuse between files count against it too, so the
	// sink's memory plateaus at about this plus the file being written (one row group sorted, and the
	// encoder's buffers).
	MaxBufferedBytes int
}

func (o *Options) defaults() {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = 128 << 10
	}
	if o.MaxFileRows <= 0 {
		o.MaxFileRows = 256 << 10
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 32 << 20
	}
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = 64 << 20
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
// Rows are buffered per dataset in one open file (typed column buffers). A file is written when the UTC day
// of the rows' ts changes, at MaxFileRows/MaxFileBytes, when all open files together exceed MaxBufferedBytes
// (the largest one), at each Rotation boundary of the wall clock, and at Flush/Close: sorted by (inst_id, ts, seq), zstd, dictionary encoding only for dictionary columns
// (instrument ids, channels...), DELTA_BINARY_PACKED for integers and timestamps, row groups of
// RowGroupRows, statistics on. It is written as "<final>.tmp", fsynced and renamed, so a reader never sees a
// partial file. Pending reports the smallest seq of any open file: the recorder keeps the spool from there.
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
	open  [schema.NumKinds]*openFile
	done  [schema.NumKinds][]seqRange // completed part files, sorted by first
	free  [schema.NumKinds]*fileBuf   // the buffer of the last written file, reused
	// buffered is the bytes of rows in open files; retained the memory of the buffers in free.
	buffered, retained int

	mu       sync.Mutex
	rows     map[string]uint64
	files    uint64
	skipped  uint64
	rejected uint64
	// rejectedBy counts rejected rows per table; the first of each table is logged, the rest only counted.
	rejectedBy [schema.NumKinds]uint64
}

type openFile struct {
	buf            *fileBuf
	opened         time.Time
	day            int64 // UTC day number of the rows' ts
	minSeq, maxSeq uint64
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
	if of := s.open[k]; of != nil && seq >= of.minSeq && seq <= of.maxSeq {
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

// Write implements Sink: it appends the batch to the dataset's open file, writing the file first when the
// day changes or it is full. An error (a file could not be written) leaves the rows buffered; the retried
// batch skips the events already appended.
func (s *Sink) Write(ctx context.Context, b store.Batch) error {
	if b.Table == nil {
		return errors.New("parquet: batch without table")
	}
	k := b.Table.Kind
	if err := s.Housekeep(ctx); err != nil {
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
		of := s.open[k]
		if of != nil && (of.day != day || of.buf.rows >= s.o.MaxFileRows || of.buf.bytes >= s.o.MaxFileBytes) {
			if err := s.closeFile(k); err != nil {
				return err
			}
			of = nil
		}
		if of == nil {
			buf := s.free[k]
			s.free[k] = nil
			if buf == nil {
				buf = newFileBuf(b.Table)
			} else {
				s.retained -= buf.capBytes()
			}
			// The seq range covers added rows only: a rejected first row must not mark its seq as stored.
			of = &openFile{buf: buf, opened: s.o.Now(), day: day, minSeq: math.MaxUint64}
			s.open[k] = of
		}
		before := of.buf.bytes
		if err := of.buf.add(e); err != nil {
			rejected++
			s.reject(k, err)
			continue
		}
		s.buffered += of.buf.bytes - before
		of.minSeq, of.maxSeq = min(of.minSeq, h.Seq), max(of.maxSeq, h.Seq)
		if s.buffered > s.o.MaxBufferedBytes {
			if err := s.closeLargest(); err != nil {
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

// reject counts a row that did not match its table (a schema bug) and logs the first one of each table.
func (s *Sink) reject(k schema.Kind, err error) {
	metricParquetRejected.Inc()
	s.rejectedBy[k]++
	if s.rejectedBy[k] == 1 {
		s.o.Logger.Error("parquet: row rejected (a schema bug); further rejected rows of this table are counted, not logged",
			"table", schema.TableOf(k).Name, "err", err)
	}
}

// closeLargest writes the open file holding the most bytes (the sink is over MaxBufferedBytes).
func (s *Sink) closeLargest() error {
	big := -1
	for k, of := range s.open {
		if of != nil && (big < 0 || of.buf.bytes > s.open[big].buf.bytes) {
			big = k
		}
	}
	if big < 0 {
		return nil
	}
	metricParquetEarlyClose.Inc()
	return s.closeFile(schema.Kind(big))
}

// Pending implements Sink: the smallest seq in any open file.
func (s *Sink) Pending() (uint64, bool) {
	var low uint64
	ok := false
	for _, of := range s.open {
		if of != nil && of.buf.rows > 0 && (!ok || of.minSeq < low) {
			low, ok = of.minSeq, true
		}
	}
	return low, ok
}

// Housekeep implements store.Housekeeper: it writes the files opened before the current Rotation boundary.
func (s *Sink) Housekeep(ctx context.Context) error {
	now := s.o.Now().Truncate(s.o.Rotation)
	var errs []error
	for k, of := range s.open {
		if of != nil && of.opened.Truncate(s.o.Rotation).Before(now) {
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
	for k := range s.open {
		if err := s.closeFile(schema.Kind(k)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close implements Sink: Flush.
func (s *Sink) Close(ctx context.Context) error { return s.Flush(ctx) }

// closeFile writes the open file of kind k under its final name; on error the rows stay buffered.
func (s *Sink) closeFile(k schema.Kind) error {
	of := s.open[k]
	if of == nil {
		return nil
	}
	if of.buf.rows == 0 {
		s.open[k] = nil
		return nil
	}
	t := of.buf.t
	tp, err := s.tableProps(t)
	if err != nil {
		return err
	}
	final := PartPath(s.dir, t.Name, time.UnixMilli(of.day*msPerDay), of.opened, of.minSeq, of.maxSeq)
	if err := writePart(tp, of.buf, final, s.o.RowGroupRows); err != nil {
		return fmt.Errorf("parquet: write %s: %w", final, err)
	}
	s.open[k] = nil
	rows := of.buf.rows
	s.buffered -= of.buf.bytes
	// Keep the buffer's memory for the dataset's next file unless open and kept buffers together would
	// exceed the budget; the sorting scratch is never kept (it is as large as a row group).
	of.buf.reset(false)
	if c := of.buf.capBytes(); s.buffered+s.retained+c <= s.o.MaxBufferedBytes {
		s.retained += c
	} else {
		of.buf.reset(true)
	}
	s.free[k] = of.buf
	rs := s.done[k]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].first > of.minSeq })
	s.done[k] = append(rs[:i], append([]seqRange{{of.minSeq, of.maxSeq}}, rs[i:]...)...)
	metricParquetFiles.Inc()
	s.mu.Lock()
	s.rows[t.Name] += uint64(rows)
	s.files++
	s.mu.Unlock()
	return nil
}

func (s *Sink) tableProps(t *schema.Table) (*tableProps, error) {
	if tp := s.props[t.Kind]; tp != nil {
		return tp, nil
	}
	tp, err := newTableProps(t, s.o)
	if err != nil {
		return nil, err
	}
	s.props[t.Kind] = tp
	return tp, nil
}

// Stats implements store.StatsReporter: rows in completed files per dataset, and files written.
func (s *Sink) Stats() store.SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := store.SinkStats{Rows: make(map[string]uint64, len(s.rows)), Files: s.files}
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
