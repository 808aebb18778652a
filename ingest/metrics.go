package ingest

import (
	"sync"
	"sync/atomic"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/schema"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Prometheus metrics, shared by every Client in the process.
var (
	metricFrames = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_frames_total", Help: "Push frames received, by endpoint and channel (\"other\": channels okxtape does not know).",
	}, []string{"endpoint", "channel"})
	metricEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_events_total", Help: "Events decoded from push frames, by channel (\"other\": channels okxtape does not know).",
	}, []string{"channel"})
	metricDecodeErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_decode_errors_total", Help: "Frames that could not be decoded, by kind.",
	}, []string{"kind"})
	metricReconnects = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_reconnects_total", Help: "Connections re-established after a drop, by endpoint.",
	}, []string{"endpoint"})
	metricExchangeErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_exchange_errors_total", Help: "OKX error events, by code.",
	}, []string{"code"})
	metricLag = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "okxtape_exchange_lag_seconds",
		Help:    "Local receive time minus exchange timestamp of decoded events.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	})
	metricHandoverDuplicates = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_handover_duplicates_total", Help: "Events delivered by both connections of a 64008 handover, dropped once, by channel.",
	}, []string{"channel"})
	metricConnections = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "okxtape_connections", Help: "Connections currently up and subscribed, by endpoint.",
	}, []string{"endpoint"})
)

// The decode-error and reconnect series exist at 0 from the start, so dashboards and rate() see them
// before the first increment.
func init() {
	for _, kind := range []string{"malformed", "unknown_channel"} {
		metricDecodeErrors.WithLabelValues(kind)
	}
	for _, ep := range []string{schema.EndpointPublic, schema.EndpointBusiness, schema.EndpointPrivate} {
		metricReconnects.WithLabelValues(ep)
	}
}

// counters is a concurrent map of named counters for Stats: lookups are lock-free once a name exists.
type counters struct{ m sync.Map } // string -> *atomic.Uint64

func (c *counters) get(name string) *atomic.Uint64 {
	if v, ok := c.m.Load(name); ok {
		return v.(*atomic.Uint64)
	}
	v, _ := c.m.LoadOrStore(name, new(atomic.Uint64))
	return v.(*atomic.Uint64)
}

func (c *counters) add(name string, n uint64) { c.get(name).Add(n) }

func (c *counters) snapshot() map[string]uint64 {
	out := map[string]uint64{}
	c.m.Range(func(k, v any) bool {
		if n := v.(*atomic.Uint64).Load(); n > 0 {
			out[k.(string)] = n
		}
		return true
	})
	return out
}

// chanCounters caches one connection's per-channel counters; used only by its reader goroutine.
type chanCounters struct {
	frames   prometheus.Counter
	events   prometheus.Counter
	statsFr  *atomic.Uint64
	statsEv  *atomic.Uint64
	endpoint string
}

// Stats is a JSON-friendly snapshot of a Client's counters.
type Stats struct {
	Frames         map[string]uint64 `json:"frames"`          // push frames per channel ("other": unknown)
	Events         map[string]uint64 `json:"events"`          // decoded events per channel (before the book manager)
	DecodeErrors   map[string]uint64 `json:"decode_errors"`   // per kind: malformed, unknown_channel, bad_number, bad_level, no_ts
	ExchangeErrors map[string]uint64 `json:"exchange_errors"` // per OKX code
	Reconnects     uint64            `json:"reconnects"`      // connections re-established after a drop
	Handovers      uint64            `json:"handovers"`       // 64008 make-before-break switches
	// HandoverDuplicates are events both connections of a handover delivered, dropped once, per channel
	// (books: see Books.Duplicates and Books.StaleSnapshots).
	HandoverDuplicates map[string]uint64 `json:"handover_duplicates"`
	Pings              uint64            `json:"pings"`              // keepalive pings sent
	Connections        int               `json:"connections"`        // connections up (once Run stops: when the stop began)
	ConnectionsOpened  uint64            `json:"connections_opened"` // connections that came up: first, reconnects, handovers
	Shards             int               `json:"shards"`             // connection slots configured
	Books              book.Stats        `json:"books"`              // the order-book managers of all connections, summed
}
