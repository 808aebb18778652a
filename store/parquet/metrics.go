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
		Help: "Parquet files written early because all open files together exceeded MaxBufferedBytes.",
	})
	metricParquetSkipped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_parquet_duplicates_skipped_total",
		Help: "Redelivered events skipped by the Parquet sink because a completed file or the open file already holds their seq.",
	})
)
