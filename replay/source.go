package replay

import (
	"context"
	"math"
	"slices"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// Source lists the stored data of one dataset as parts: bounded chunks that the merge loads one at a time.
//
// Contract: Parts returns the parts of the dataset that may hold rows matching q, in read order: for a dataset,
// reading the parts in this order must visit each stream's rows in arrival (seq) order, part by part (the
// Parquet source orders files by date then first seq; the ClickHouse source orders time windows). Part.MinTs
// must be a lower bound of the ts of every row in the part (math.MinInt64 when unknown); the merge relies on
// it to open a part no later than needed. Parts is called from one goroutine (several at once for a Source
// that says so, see ConcurrentLister); Part.Read of different parts may run concurrently (the merge reads
// ahead on worker goroutines).
type Source interface {
	// Parts lists the parts of dataset t for selection q.
	Parts(ctx context.Context, t *schema.Table, q store.Query) ([]Part, error)
	// Close releases the source.
	Close() error
}

// ConcurrentLister is implemented by a Source whose Parts may run for several datasets at once: Open then
// lists the datasets concurrently (the Parquet source reads each file's footer, which costs more than the
// replay of a narrow selection).
type ConcurrentLister interface {
	ConcurrentParts() bool
}

// Part is one bounded chunk of a dataset: a Parquet file, or a ClickHouse time window.
type Part struct {
	Name  string // file path or window description, for errors
	MinTs int64  // lower bound of the rows' ts in ms (math.MinInt64: unknown)
	MaxTs int64  // upper bound of the rows' ts in ms (math.MaxInt64: unknown)
	Rows  int64  // number of rows when known (a capacity hint), else 0
	// OwnTo, when non-zero, makes rows with ts >= OwnTo context only: they take part in computing the merge
	// keys of the part's rows (a stream whose ts went backwards across the part's end) but are not emitted;
	// the next part emits them. ClickHouse windows read a margin past their end this way.
	OwnTo int64
	// Read streams the part's rows to fn. The event is reused after fn returns; fn copies what it keeps. Rows
	// that do not match the selection may be passed; the merge filters them.
	Read func(ctx context.Context, fn func(schema.Stored) error) error
	// ReadTo, when set, is Read decoding each row straight into the event sink.Slot returns (the merge's
	// slab), so keeping a row copies nothing; the merge uses it instead of Read.
	ReadTo func(ctx context.Context, sink RowSink) error
	// Release, when set, frees what the part's reading keeps open (parts streamed from one shared reader);
	// the Stream calls it for every part when it is closed, read or not. It may be called more than once.
	Release func()
}

// RowSink receives the rows of Part.ReadTo: Slot returns the event the next row is read into (nil: the
// reader's own reused event); Row is called once it holds the row (a slot Row does not keep may be returned
// again by the next Slot). A non-nil error from Row stops the read and is returned as is. (The method set of
// parquet.RowSink.)
type RowSink interface {
	Slot() schema.Stored
	Row(e schema.Stored) error
}

// overlaps reports whether a part with these ts bounds may hold rows in [from, to).
func (p *Part) overlaps(fromMs, toMs int64) bool {
	return p.MaxTs >= fromMs && p.MinTs < toMs
}

// ReplayTables are the datasets `replay run` merges: every stored table except raw frames, the session
// ledger and derived datasets (raw frames are for serve and renormalise; derived rows were never dispatched
// live, so replaying them would break digest parity). Gaps are included and arrive where the outage began.
func ReplayTables() []*schema.Table {
	var out []*schema.Table
	for _, t := range schema.Tables() {
		if t.Kind != schema.KindRaw && t.Kind != schema.KindSession && !t.Derived {
			out = append(out, t)
		}
	}
	return out
}

// matcher is the selection applied to rows: ts in [from, to), and inst/channel lists. Gaps whose Channel or
// InstID is "" (a whole connection was down) match any channel or instrument list.
type matcher struct {
	from, to int64
	insts    []string
	channels []string
	gapsWide bool
}

func newMatcher(q store.Query, t *schema.Table) matcher {
	from, to := q.Bounds()
	return matcher{from: from, to: to, insts: q.Insts, channels: q.Channels, gapsWide: t.Kind == schema.KindGap}
}

// stream reports whether rows of stream (channel, inst) are selected.
func (m *matcher) stream(channel, inst string) bool {
	if len(m.insts) > 0 && !slices.Contains(m.insts, inst) && !(m.gapsWide && inst == "") {
		return false
	}
	if len(m.channels) > 0 && !slices.Contains(m.channels, channel) && !(m.gapsWide && channel == "") {
		return false
	}
	return true
}

func (m *matcher) ts(ts int64) bool { return ts >= m.from && ts < m.to }

// unbounded part bounds.
const (
	minTs = math.MinInt64
	maxTs = math.MaxInt64
)
