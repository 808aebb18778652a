// Package store persists engine events: a crash-safe spool, batching, and Parquet and ClickHouse sinks.
package store
