// Package schema defines okxtape's typed events and, for each stored event type, the one column definition
// from which the Parquet schema, the ClickHouse DDL, the spool codec and the replay decoder are all derived.
package schema
