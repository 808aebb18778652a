package store

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/okxtape/okxtape/schema"
)

// Recorder, spool and Parquet metrics. They are package level (registered once on the default registry);
// several recorders in one process (tests) add to the same series.
var (
	metricEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_recorder_events_total",
		Help: "Events accepted by the recorder into the spool, per dataset.",
	}, []string{"dataset"})
	metricCorrupt = promauto.NewCounter(prometheus.CounterOpts{
		Name: "okxtape_spool_corrupt_total",
		Help: "Spool records lost to damage (failed their length/CRC check; counted per record) or that could not be decoded.",
	})
	metricSpoolBytes = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "okxtape_spool_bytes",
		Help: "Bytes held in spool segment files on disk.",
	})
	metricHandoffBytes = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "okxtape_handoff_queue_bytes",
		Help: "Bytes of encoded events accepted but not yet written and fsynced to the spool.",
	})
	metricSpoolSyncSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "okxtape_spool_sync_seconds",
		Help:    "Time to write and fsync one spool chunk.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	metricSinkRows = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_sink_rows_total",
		Help: "Rows accepted by a sink (Write returned nil), per sink and dataset.",
	}, []string{"sink", "dataset"})
	metricSinkFlush = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "okxtape_sink_flush_seconds",
		Help:    "Duration of one successful Sink.Write of a batch.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
	}, []string{"sink"})
	metricSinkErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_sink_errors_total",
		Help: "Failed Sink.Write/Flush calls (the batch is kept and retried).",
	}, []string{"sink"})
	metricSinkRetries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_sink_retries_total",
		Help: "Retries of a batch or flush after a failure.",
	}, []string{"sink"})
	metricSinkQuarantined = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_sink_quarantined_rows_total",
		Help: "Rows a sink rejected permanently (schema, type, auth, unknown table), written to a dead-letter file instead.",
	}, []string{"sink", "dataset"})
	metricSinkBacklog = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "okxtape_sink_backlog_bytes",
		Help: "Spool bytes a sink has not yet made durable (behind its cursor).",
	}, []string{"sink"})
)

// eventCounters resolves okxtape_recorder_events_total per kind once, so Handle does one atomic add.
var eventCounters = func() (c [schema.NumKinds]prometheus.Counter) {
	for _, t := range schema.Tables() {
		c[t.Kind] = metricEvents.WithLabelValues(t.Name)
	}
	return c
}()
