// Package store persists engine events: the crash-safe spool, batching with per-sink retry, and the Sink contract that store/parquet and store/clickhouse implement.
package store
