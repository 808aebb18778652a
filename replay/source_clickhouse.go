package replay

import (
	"context"
	"fmt"
	"strings"
	"time"

	chstore "github.com/okxtape/okxtape/store/clickhouse"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// ClickHouseSource reads datasets from ClickHouse with chstore.Read, one time window per Part. The
// windows of a dataset are sized from its row count over the selected range so that each holds about
// WindowRows rows (assuming an even spread; a window is at least one second): that bounds memory the way the
// Parquet writer's file size does.
type ClickHouseSource struct {
	DSN        string
	WindowRows int64 // target rows per window [262144]
	// ContextMs is how far past its end a window also reads, so that a stream whose ts went backwards across
	// the boundary keeps its arrival order (rows there only inform the merge keys) [60000].
	ContextMs int64

	conn driver.Conn
	db   string
}

// NewClickHouseSource returns a source over the database named by dsn (the form chstore.NewSink
// takes: clickhouse://[user[:password]@]host:9000/db[?cluster=NAME]; database "okxtape" when the path is empty;
// user and password else from OKXTAPE_CLICKHOUSE_USER / OKXTAPE_CLICKHOUSE_PASSWORD). It does not connect yet.
// With ?cluster=NAME it reads the Distributed tables (FINAL deduplicates on each shard: every copy of an event
// is on the shard of its instrument).
func NewClickHouseSource(dsn string) *ClickHouseSource {
	return &ClickHouseSource{DSN: dsn, WindowRows: 256 << 10, ContextMs: 60_000}
}

func (c *ClickHouseSource) connect() error {
	if c.conn != nil {
		return nil
	}
	// The sink's parser: the same defaults, and the cluster parameters never reach the server. In cluster mode
	// the tables named after the datasets are the Distributed ones, so reading is the same.
	opts, db, _, err := chstore.ParseDSN(c.DSN, chstore.Options{})
	if err != nil {
		return err
	}
	c.db = db
	opts.MaxOpenConns, opts.MaxIdleConns = 1, 1
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("clickhouse %s: open: %w", strings.Join(opts.Addr, ","), err)
	}
	c.conn = conn
	return nil
}

// Close implements Source.
func (c *ClickHouseSource) Close() error {
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}

// Parts implements Source: consecutive time windows [lo, hi) covering the selected rows, in time order. A
// dataset whose table does not exist has no parts.
func (c *ClickHouseSource) Parts(ctx context.Context, t *schema.Table, q store.Query) ([]Part, error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	var exists uint64
	if err := c.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?",
		c.db, t.Name).Scan(&exists); err != nil {
		return nil, fmt.Errorf("clickhouse: looking up %s.%s: %w", c.db, t.Name, err)
	}
	if exists == 0 {
		return nil, nil
	}
	if t.Kind == schema.KindGap {
		// Connection-wide gaps have "" channel and instrument: the merge's matcher selects them.
		q.Insts, q.Channels = nil, nil
	}
	where, args := chstore.Where(q)
	var n uint64
	var lo, hi int64
	sql := fmt.Sprintf("SELECT count(), min(ts), max(ts) FROM `%s`.`%s`%s", c.db, t.Name, where)
	if err := c.conn.QueryRow(ctx, sql, args...).Scan(&n, &lo, &hi); err != nil {
		return nil, fmt.Errorf("clickhouse: bounds of %s.%s: %w", c.db, t.Name, err)
	}
	if n == 0 {
		return nil, nil
	}
	span := hi - lo + 1
	target := max(c.WindowRows, 1)
	width := max(span/max(int64(n)/target, 1), 1000)
	if int64(n) <= target {
		width = span
	}
	var parts []Part
	for start := lo; start <= hi; start += width {
		end := min(start+width, hi+1)
		wq := q
		wq.From, wq.To = time.UnixMilli(start), time.UnixMilli(end)
		ownTo := int64(0)
		if end <= hi && c.ContextMs > 0 {
			ownTo = end
			wq.To = time.UnixMilli(min(end+c.ContextMs, hi+1))
		}
		parts = append(parts, Part{
			Name:  fmt.Sprintf("clickhouse %s.%s ts [%d, %d)", c.db, t.Name, start, end),
			MinTs: start, MaxTs: end - 1, OwnTo: ownTo,
			Read: func(ctx context.Context, fn func(schema.Stored) error) error {
				return chstore.Read(ctx, c.DSN, t.Name, wq, fn)
			},
		})
		if end > hi {
			break
		}
	}
	return parts, nil
}
