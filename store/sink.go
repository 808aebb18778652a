package store

import (
	"context"
	"errors"

	"github.com/okxtape/okxtape/schema"
)

// Batch is a run of events of one table, in increasing Seq order. The recorder owns the slice and the events:
// a Sink must copy what it keeps after Write returns.
type Batch struct {
	Table  *schema.Table
	Events []schema.Stored
}

// Sink stores batches. The recorder (not the sink) does batching, retries, spooling and backoff.
//
// Lifecycle: Open once, then Write any number of times, then Close once. Concurrency: the recorder calls a
// sink from one goroutine; Write is never called concurrently and never after Close.
//
// Accept/retry: Write returning nil means the sink accepted the batch (it is stored, or buffered by the sink
// and reported through Pending until stored). Any error means nothing of the batch may be assumed stored: the
// recorder keeps the batch and retries it, in order, after a backoff, so Write must be idempotent by Seq (a
// retried batch must not double-count).
type Sink interface {
	// Name identifies the sink in logs, metrics and the exit summary ("parquet", "clickhouse").
	Name() string
	// Open prepares the sink (create folders, databases, tables).
	Open(ctx context.Context) error
	// Write stores or buffers one batch.
	Write(ctx context.Context, b Batch) error
	// Pending returns the smallest Seq the sink accepted but has not yet made durable, and ok=false when
	// everything accepted is durable. The spool keeps every record from that Seq on.
	Pending() (seq uint64, ok bool)
	// Flush makes everything accepted so far durable where the sink buffers (Parquet: close open files).
	Flush(ctx context.Context) error
	// Close flushes and releases resources.
	Close(ctx context.Context) error
}

// ErrRedeliver is wrapped by a sink's error when it dropped rows it had accepted but not yet made durable (a
// Parquet file that failed mid-write is removed with its rows). The recorder then delivers every spooled
// record again from the sink's saved cursor, as after a restart; the sink skips what it holds durably. Until
// the next Write, the sink's Pending must cover the dropped rows.
var ErrRedeliver = errors.New("sink dropped rows it had not made durable: redeliver from the cursor")

// Stats is what a sink reports for the exit summary and metrics.
type SinkStats struct {
	Rows  map[string]uint64 // rows stored per dataset
	Files uint64            // files written (Parquet)
}

// StatsReporter is implemented by sinks that report stats.
type StatsReporter interface {
	Stats() SinkStats
}

// RateBatcher is implemented by sinks whose cost is per write more than per row (ClickHouse makes a part per
// insert). When RateBatches returns true, the recorder sizes each table's batches for about one write per
// FlushInterval: a table's batch limit starts at BatchSize (the floor), doubles while batches fill before
// half the interval, up to MaxRateBatch, and halves when a batch leaves on time with under a quarter of it.
type RateBatcher interface {
	RateBatches() bool
}

// MaxRateBatch caps a rate-sized batch, in multiples of BatchSize.
const MaxRateBatch = 64
