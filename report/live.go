package report

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
)

var (
	metricGaps = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_gaps_total",
		Help: "Gap-ledger rows written while recording, by reason (disconnect, sequence, checksum, crossed, resync).",
	}, []string{"reason"})
	metricLastGap = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "okxtape_last_gap_timestamp_seconds",
		Help: "End of the latest gap written to the ledger, Unix seconds (0: none yet).",
	})
	coverageDesc = prometheus.NewDesc("okxtape_coverage_ratio", coverageHelp, []string{"channel"}, nil)
	liveNow      atomic.Pointer[Live] // the Live the collector reports; the latest NewLive
)

const coverageHelp = "Share of the time since the recording started in which the channel's subscribed streams were " +
	"covered: 1 minus each stream's gaps (ledger rows, and open outages until now), averaged over the streams."

func init() {
	for _, r := range []string{schema.GapDisconnect, schema.GapSequence, schema.GapChecksum, schema.GapCrossed, schema.GapResync} {
		metricGaps.WithLabelValues(r)
	}
	prometheus.MustRegister(coverageCollector{})
}

// Live follows a recording's gaps and connection events and exports its coverage on /metrics
// (okxtape_coverage_ratio per channel, okxtape_gaps_total, okxtape_last_gap_timestamp_seconds). Its handlers
// run on the engine; scrapes read it under a lock.
type Live struct {
	mu      sync.Mutex
	now     func() time.Time
	startMs int64
	streams map[chanInst]*liveStream
	conns   map[string][]chanInst // the streams each connection subscribed
	downAt  map[string]int64      // connections down now, since when (ms)
}

type liveStream struct {
	uncovered int64 // ms inside closed gaps, each instant counted once
	coveredTo int64 // the latest gap end accounted
}

// NewLive returns a tracker for a recording that starts now; now is the clock (nil: time.Now). The collector
// registered with Prometheus reports the latest tracker.
func NewLive(now func() time.Time) *Live {
	if now == nil {
		now = time.Now
	}
	l := &Live{now: now, startMs: now().UnixMilli(), streams: map[chanInst]*liveStream{}, conns: map[string][]chanInst{},
		downAt: map[string]int64{}}
	liveNow.Store(l)
	return l
}

// Attach registers the tracker's handlers on e.
func (l *Live) Attach(e *engine.Engine) {
	engine.On(e, "coverage", l.subscribed)
	engine.On(e, "coverage", l.disconnected)
	engine.On(e, "coverage", l.connected)
	engine.On(e, "coverage", l.gap)
}

func (l *Live) subscribed(ev *schema.Subscribed) {
	inst := ev.InstID
	if inst == "" {
		inst = ev.InstType
	}
	k := chanInst{ev.Channel, inst}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams[k] == nil {
		l.streams[k] = &liveStream{coveredTo: l.startMs}
	}
	for _, s := range l.conns[ev.Conn] {
		if s == k {
			return
		}
	}
	l.conns[ev.Conn] = append(l.conns[ev.Conn], k)
}

func (l *Live) disconnected(ev *schema.Disconnected) {
	l.mu.Lock()
	l.downAt[ev.Conn] = ev.Ts
	l.mu.Unlock()
}

func (l *Live) connected(ev *schema.Connected) {
	l.mu.Lock()
	delete(l.downAt, ev.Conn) // the gap row that follows a reconnect accounts the outage
	l.mu.Unlock()
}

func (l *Live) gap(ev *schema.Gap) {
	metricGaps.WithLabelValues(ev.Reason).Inc()
	metricLastGap.Set(float64(max(ev.ToMs, ev.FromMs)) / 1000)
	g := gapState{Gap: Gap{Channel: ev.Channel, InstID: ev.InstID, Detail: ev.Detail}}
	if ev.Channel == "" {
		g.args = parseArgs(ev.Detail)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var keys []chanInst
	switch {
	case ev.Channel == "" && ev.Conn == "": // the whole recorder
		for k := range l.streams {
			keys = append(keys, k)
		}
	case ev.Channel == "" && len(g.args) == 0:
		keys = l.conns[ev.Conn]
	default:
		for k := range l.streams {
			if g.applies(k.channel, k.inst) {
				keys = append(keys, k)
			}
		}
	}
	for _, k := range keys {
		s := l.streams[k]
		// Gaps of a stream arrive in about the order they began: count the part past what is accounted.
		from, to := max(ev.FromMs, s.coveredTo, l.startMs), ev.ToMs
		if to > from {
			s.uncovered += to - from
			s.coveredTo = to
		}
	}
}

// Coverage returns the coverage ratio per channel now.
func (l *Live) Coverage() map[string]float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now().UnixMilli()
	elapsed := float64(max(now-l.startMs, 1))
	open := map[chanInst]int64{}
	for conn, since := range l.downAt {
		for _, k := range l.conns[conn] {
			open[k] = max(open[k], now-max(since, l.streams[k].coveredTo))
		}
	}
	sum, n := map[string]float64{}, map[string]int{}
	for k, s := range l.streams {
		sum[k.channel] += 1 - min(float64(s.uncovered+open[k])/elapsed, 1)
		n[k.channel]++
	}
	out := map[string]float64{}
	for c, v := range sum {
		out[c] = v / float64(n[c])
	}
	return out
}

type coverageCollector struct{}

func (coverageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- coverageDesc }

func (coverageCollector) Collect(ch chan<- prometheus.Metric) {
	l := liveNow.Load()
	if l == nil {
		return
	}
	for c, v := range l.Coverage() {
		ch <- prometheus.MustNewConstMetric(coverageDesc, prometheus.GaugeValue, v, strings.Clone(c))
	}
}
