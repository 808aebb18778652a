package store

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var metricSinkIdle = promauto.NewGaugeVec(prometheus.GaugeOpts{
	Name: "okxtape_sink_idle",
	Help: "1 while a sink's dispatcher thread runs as SCHED_IDLE (keeping up), 0 while it runs at its nice value (catching up or idle scheduling off).",
}, []string{"sink"})

// sinkPriority chooses the scheduling of one sink's dispatcher thread from how far the sink is behind the
// spool: SCHED_IDLE while it keeps up (lag ≤ idleLag), so encoding never delays a live thread, and SCHED_OTHER
// at nice while it catches up (lag > idleLag, until lag < idleLag/4), so it cannot be starved. It is used by
// the dispatcher goroutine only, after start has locked it to its thread.
type sinkPriority struct {
	sink    string
	idleLag uint64 // 0: never idle
	nice    int
	idle    bool
	ok      bool // the kernel accepts changes; false: leave the thread alone from then on
	gauge   prometheus.Gauge
	log     *slog.Logger
	lastLog time.Time
}

func newSinkPriority(sink string, o *RecorderOptions) *sinkPriority {
	p := &sinkPriority{sink: sink, nice: o.SinkNice, gauge: metricSinkIdle.WithLabelValues(sink), log: o.Logger}
	if o.SinkNice >= 0 && o.SinkIdleLag > 0 {
		p.idleLag = uint64(o.SinkIdleLag)
	}
	return p
}

// start locks the calling goroutine to its thread, gives it the nice value and, when idle scheduling is on
// and allowed, SCHED_IDLE.
func (p *sinkPriority) start() {
	if p.nice < 0 {
		return
	}
	lockThread()
	setThreadNice(p.nice)
	if p.idleLag > 0 {
		p.idle = setThreadIdle(true)
		p.ok = p.idle
	}
	p.setGauge()
}

// update switches between idle and nice with hysteresis, given the bytes the sink has still to read.
func (p *sinkPriority) update(lag uint64) {
	if !p.ok || p.idleLag == 0 {
		return
	}
	switch {
	case p.idle && lag > p.idleLag:
		p.set(false)
		if now := time.Now(); now.Sub(p.lastLog) >= time.Minute {
			p.lastLog = now
			p.log.Info("recorder: sink falling behind the spool; its thread leaves idle scheduling until it catches up",
				"sink", p.sink, "behind_bytes", lag, "idle_lag_bytes", p.idleLag)
		}
	case !p.idle && lag < p.idleLag/4:
		p.set(true)
	}
}

// normal leaves idle scheduling for good (shutdown: the final flush must not wait for a busy machine).
func (p *sinkPriority) normal() {
	if p.ok && p.idle {
		p.set(false)
	}
	p.idleLag = 0
}

func (p *sinkPriority) set(idle bool) {
	if setThreadIdle(idle) {
		p.idle = idle
	} else if !idle {
		p.ok = false // cannot leave: keep reporting the truth
	}
	p.setGauge()
}

func (p *sinkPriority) setGauge() {
	v := 0.0
	if p.idle {
		v = 1
	}
	p.gauge.Set(v)
}
