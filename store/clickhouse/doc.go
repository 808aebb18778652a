// Package clickhouse is the ClickHouse store: a Sink with per-server-version DDL, and the reader replay uses.
package clickhouse
