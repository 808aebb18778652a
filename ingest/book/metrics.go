package book

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/okxtape/okxtape/schema"
)

// Package-level metrics, shared by every Manager (tests create many managers; vectors are registered once).
var (
	metricResyncs = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_book_resyncs_total",
		Help: "Local order books rebuilt after a sequence, checksum or crossed-book incident.",
	})
	metricGaps = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_book_gaps_total",
		Help: "Gap-ledger rows emitted by the book manager, by reason (sequence, checksum, crossed, resync).",
	}, []string{"reason"})
	metricChecksumFailures = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_book_checksum_failures_total",
		Help: "Book messages whose non-zero checksum did not match the local book.",
	})
	metricChecksumsVerified = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_book_checksums_verified_total",
		Help: "Book messages whose non-zero checksum matched the local book.",
	})
	metricStaleSnapshots = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_book_stale_snapshots_total",
		Help: "Book snapshots dropped because the book had already emitted that seqId or a newer one (the other connection of a 64008 handover was ahead).",
	})
	metricDuplicates = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_book_duplicates_total",
		Help: "Book updates dropped because the book already had them (repeated, or delivered first by the other connection of a 64008 handover).",
	})

	gapCounters = map[string]prometheus.Counter{
		schema.GapSequence: metricGaps.WithLabelValues(schema.GapSequence),
		schema.GapChecksum: metricGaps.WithLabelValues(schema.GapChecksum),
		schema.GapCrossed:  metricGaps.WithLabelValues(schema.GapCrossed),
		schema.GapResync:   metricGaps.WithLabelValues(schema.GapResync),
	}
)
