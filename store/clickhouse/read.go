package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// Read streams the rows of one dataset that match q, in (ts, seq) order, from the database named by
// the DSN (same form as NewSink). It reads with FINAL, so rows inserted twice (retries, spool
// recovery) are seen once. fn receives one reused event: it is valid only during the call (schema.Clone to
// keep it). An error from fn stops the read and is returned as is; cancelling ctx stops it too.
func Read(ctx context.Context, dsn, dataset string, q store.Query, fn func(schema.Stored) error) error {
	t := schema.TableByName(dataset)
	if t == nil {
		return fmt.Errorf("clickhouse: unknown dataset %q", dataset)
	}
	opts, db, _, err := ParseDSN(dsn, Options{})
	if err != nil {
		return err
	}
	opts.MaxIdleConns, opts.MaxOpenConns = 1, 1
	addr := strings.Join(opts.Addr, ",")
	conn, err := chgo.Open(opts)
	if err != nil {
		chErrors.WithLabelValues("read").Inc()
		return fmt.Errorf("clickhouse %s: open: %w", addr, err)
	}
	defer conn.Close()
	if err := readClickHouse(ctx, conn, db, t, q, fn); err != nil {
		if !errors.Is(err, errCallback) {
			chErrors.WithLabelValues("read").Inc()
			return fmt.Errorf("clickhouse %s: read %s.%s: %w", addr, db, t.Name, err)
		}
		return errors.Unwrap(err)
	}
	return nil
}

var errCallback = errors.New("callback error")

type callbackError struct{ err error }

func (e callbackError) Error() string        { return e.err.Error() }
func (e callbackError) Unwrap() error        { return e.err }
func (e callbackError) Is(target error) bool { return target == errCallback }

// Select returns the SELECT statement and its positional arguments that Read runs.
func Select(db string, t *schema.Table, q store.Query) (string, []any) {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quoteIdent(c.Name)
	}
	where, args := Where(q)
	sql := fmt.Sprintf("SELECT %s FROM %s.%s FINAL%s", strings.Join(cols, ", "), quoteIdent(db), quoteIdent(t.Name), where)
	return sql + " ORDER BY ts, seq", args
}

// Where renders a selection as " WHERE ..." (or "") with positional arguments: ts in
// [From, To) as epoch ms, inst_id and channel in the given lists.
func Where(q store.Query) (string, []any) {
	var where []string
	var args []any
	if !q.From.IsZero() {
		where = append(where, "ts >= ?")
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		where = append(where, "ts < ?")
		args = append(args, q.To.UnixMilli())
	}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("inst_id", q.Insts)
	in("channel", q.Channels)
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

func readClickHouse(ctx context.Context, conn driver.Conn, db string, t *schema.Table, q store.Query,
	fn func(schema.Stored) error) error {
	sql, args := Select(db, t, q)
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	r := newCHRow(t)
	e := t.New()
	for rows.Next() {
		if err := rows.Scan(r.dest...); err != nil {
			return err
		}
		r.i = 0
		e.ReadRow(r)
		if r.err != nil {
			return r.err
		}
		if err := fn(e); err != nil {
			return callbackError{err}
		}
	}
	return rows.Err()
}

// chRow is the RowReader over one scanned row: Scan fills the typed slots, ReadRow consumes them in order.
type chRow struct {
	types  []schema.Type
	ints   []int64
	floats []float64
	strs   []string
	bools  []uint8
	fl     [][]float64
	il     [][]int64
	slot   []int // column -> index into its type's slots
	dest   []any
	i      int
	err    error
}

func newCHRow(t *schema.Table) *chRow {
	r := &chRow{types: make([]schema.Type, len(t.Columns)), slot: make([]int, len(t.Columns))}
	counts := map[string]int{}
	kind := func(ty schema.Type) string {
		switch ty {
		case schema.Int64, schema.TimeMs, schema.TimeNs:
			return "i"
		case schema.Float64:
			return "f"
		case schema.String:
			return "s"
		case schema.Bool:
			return "b"
		case schema.Float64List:
			return "fl"
		}
		return "il"
	}
	for i, c := range t.Columns {
		r.types[i] = c.Type
		k := kind(c.Type)
		r.slot[i] = counts[k]
		counts[k]++
	}
	r.ints = make([]int64, counts["i"])
	r.floats = make([]float64, counts["f"])
	r.strs = make([]string, counts["s"])
	r.bools = make([]uint8, counts["b"])
	r.fl = make([][]float64, counts["fl"])
	r.il = make([][]int64, counts["il"])
	r.dest = make([]any, len(t.Columns))
	for i, c := range t.Columns {
		j := r.slot[i]
		switch kind(c.Type) {
		case "i":
			r.dest[i] = &r.ints[j]
		case "f":
			r.dest[i] = &r.floats[j]
		case "s":
			r.dest[i] = &r.strs[j]
		case "b":
			r.dest[i] = &r.bools[j]
		case "fl":
			r.dest[i] = &r.fl[j]
		default:
			r.dest[i] = &r.il[j]
		}
	}
	return r
}

// next returns the slot index of the next column if it has one of the wanted types, or -1.
func (r *chRow) next(want ...schema.Type) int {
	if r.err != nil {
		return -1
	}
	if r.i >= len(r.types) {
		r.err = fmt.Errorf("row reads more than %d columns", len(r.types))
		return -1
	}
	for _, w := range want {
		if r.types[r.i] == w {
			r.i++
			return r.slot[r.i-1]
		}
	}
	r.err = fmt.Errorf("column %d is %s, row read %s", r.i, r.types[r.i], want[0])
	return -1
}

func (r *chRow) Int64() int64 {
	if j := r.next(schema.Int64, schema.TimeMs, schema.TimeNs); j >= 0 {
		return r.ints[j]
	}
	return 0
}

func (r *chRow) Float64() float64 {
	if j := r.next(schema.Float64); j >= 0 {
		return r.floats[j]
	}
	return 0
}

func (r *chRow) String() string {
	if j := r.next(schema.String); j >= 0 {
		return r.strs[j]
	}
	return ""
}

func (r *chRow) Bool() bool {
	if j := r.next(schema.Bool); j >= 0 {
		return r.bools[j] != 0
	}
	return false
}

func (r *chRow) Float64s(dst []float64) []float64 {
	if j := r.next(schema.Float64List); j >= 0 {
		return append(dst[:0], r.fl[j]...)
	}
	return dst[:0]
}

func (r *chRow) Int64s(dst []int64) []int64 {
	if j := r.next(schema.Int64List); j >= 0 {
		return append(dst[:0], r.il[j]...)
	}
	return dst[:0]
}
