package parquet

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Parquet sink metrics, package level (registered once on the default registry).
var (
	metricParquetFiles = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_parquet_files_total",
		Help: "Parquet part files completed (renamed to their final name).",
	})
	metricParquetEarlyClose = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_parquet_budget_closes_total",
		Help: "Parquet row groups written early (smaller) because the rows waiting for their row groups exceeded MaxBufferedBytes.",
	})
	metricParquetRejected = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_parquet_rows_rejected_total",
		Help: "Rows the Parquet sink rejected because they did not match their table's columns (a schema bug; the first per table is logged).",
	})
	metricParquetSkipped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_parquet_duplicates_skipped_total",
		Help: "Redelivered events skipped by the Parquet sink because a completed file or the open file already holds their seq.",
	})
)
