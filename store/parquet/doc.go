// Package parquet is the embedded store: a Sink writing hive-partitioned zstd Parquet files and readers of them.
package parquet
