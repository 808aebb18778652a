package schema

import (
	"fmt"
	"slices"
	"sort"
)

// Type is a column's storage type. Times are Unix epoch integers everywhere; stores map TimeMs/TimeNs to their
// timestamp types where they have them (Parquet TIMESTAMP(ms/ns, UTC)) and to Int64 elsewhere.
type Type uint8

// Column types.
const (
	Int64 Type = iota + 1
	TimeMs
	TimeNs
	Float64
	String
	Bool
	Float64List
	Int64List
)

func (t Type) String() string {
	switch t {
	case Int64:
		return "int64"
	case TimeMs:
		return "time_ms"
	case TimeNs:
		return "time_ns"
	case Float64:
		return "float64"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Float64List:
		return "float64[]"
	case Int64List:
		return "int64[]"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Column is one stored field.
type Column struct {
	Name string
	Type Type
	// Local marks data that is not the exchange's (receive time, arrival seq): excluded from digests.
	Local bool
	// Dict asks for dictionary encoding (low-cardinality strings such as instrument ids).
	Dict bool
	// Split asks for BYTE_STREAM_SPLIT encoding of a Float64 column: for running totals (24 h volumes), whose
	// sign, exponent and leading mantissa bytes repeat from row to row while the low bytes change, it
	// compresses better than PLAIN (measured on the bench mix); for other doubles it does worse.
	Split bool
	// Doc is a one-line description used in generated DDL comments and docs.
	Doc string
}

// Table is the single definition of one dataset. Every store derives its layout from it.
//
// Key names the columns that identify an event by what the exchange says (instrument + trade id, instrument +
// exchange ts, instrument + channel + seqId ...), never by anything local to one recorder, so two recorders of
// the same feed store the same key for the same event and a store keeps it once: ClickHouse orders its
// ReplacingMergeTree by Key (the row with the largest seq wins), `replay merge` deduplicates two Parquet
// stores by it. Key always contains inst_id (the cluster's sharding key) and is never empty. Tables of local
// facts (the gap ledger) include seq, so two recorders' rows stay apart. Rows are partitioned by the UTC day of
// ts; seq (the arrival order) stays a column and is replay's tie-break.
type Table struct {
	Name    string // dataset / table name, e.g. "tickers"
	Kind    Kind
	Columns []Column
	Key     []string      // event identity, see above
	New     func() Stored // a zero event of this table's type
	// Derived marks datasets computed from other datasets (book_snapshots, trade_bars): they are written by
	// the derive handlers, not received, so replay does not feed them back into the engine.
	Derived bool
}

// ValuesKey in a Key stands for every column after the header (the event's values, in column order): for data
// that OKX identifies by instrument and exchange ts alone, where one millisecond can still carry two different
// pushes (OKX's own mark prices do; so does a simulator catching up), the values keep those apart while two
// recorders' copies of one push, which are equal in every value, still share the key.
const ValuesKey = "*values"

// KeyIndexes returns the column positions of t.Key, in Key order.
func (t *Table) KeyIndexes() []int {
	out := make([]int, len(t.Key))
	for i, k := range t.Key {
		out[i] = t.Index(k)
	}
	return out
}

// Index returns the position of the named column, or -1.
func (t *Table) Index(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// RowWriter receives one row's values in column order. Implementations: the spool codec, the Parquet column
// builders, the ClickHouse batch, the digest hasher. A RowWriter does not keep the slices it is given.
type RowWriter interface {
	Int64(v int64)
	Float64(v float64)
	String(v string)
	Bool(v bool)
	Float64s(v []float64)
	Int64s(v []int64)
}

// RowReader yields one row's values in column order. A reader that fails remembers its first error and
// returns zero values afterwards; the caller checks the error after ReadRow.
type RowReader interface {
	Int64() int64
	Float64() float64
	String() string
	Bool() bool
	// Float64s and Int64s append to dst[:0] and return it, so callers can reuse buffers.
	Float64s(dst []float64) []float64
	Int64s(dst []int64) []int64
}

var (
	tables     [NumKinds]*Table
	tableNames = map[string]*Table{}
)

func register(t *Table) *Table {
	if i := slices.Index(t.Key, ValuesKey); i >= 0 {
		var vals []string
		for _, c := range t.Columns {
			vals = append(vals, c.Name)
		}
		t.Key = slices.Concat(t.Key[:i], vals, t.Key[i+1:])
	}
	t.Columns = append(append([]Column(nil), headerColumns...), t.Columns...)
	tables[t.Kind] = t
	tableNames[t.Name] = t
	return t
}

// TableOf returns the table storing events of kind k, or nil for kinds that are not stored.
func TableOf(k Kind) *Table {
	if k < NumKinds {
		return tables[k]
	}
	return nil
}

// TableByName returns the table with the given dataset name, or nil.
func TableByName(name string) *Table { return tableNames[name] }

// Tables returns every stored table, in Kind order.
func Tables() []*Table {
	var out []*Table
	for _, t := range tables {
		if t != nil {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

var headerColumns = []Column{
	{Name: "seq", Type: Int64, Local: true, Doc: "arrival sequence, unique per event: the replay tie-break and the version kept on merge"},
	{Name: "recv_ns", Type: TimeNs, Local: true, Doc: "local receive time, Unix ns"},
	{Name: "channel", Type: String, Dict: true, Doc: "OKX channel name"},
	{Name: "inst_id", Type: String, Dict: true, Doc: "instrument id (currency for balances)"},
	{Name: "ts", Type: TimeMs, Doc: "exchange time, Unix ms"},
}

// HeaderColumns is the number of leading columns shared by every table (seq, recv_ns, channel, inst_id, ts).
const HeaderColumns = 5

func (h *Header) writeHeader(w RowWriter) {
	w.Int64(int64(h.Seq))
	w.Int64(h.RecvNs)
	w.String(h.Channel)
	w.String(h.InstID)
	w.Int64(h.Ts)
}

func (h *Header) readHeader(r RowReader) {
	h.Seq = uint64(r.Int64())
	h.RecvNs = r.Int64()
	h.Channel = r.String()
	h.InstID = r.String()
	h.Ts = r.Int64()
}

// Hdr returns the header; it makes every struct embedding Header satisfy part of Event.
func (h *Header) Hdr() *Header { return h }
