package report

import (
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

func fmtMs(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

func sortFloats(xs []float64) { slices.Sort(xs) }

// Report finishes the figures. The Builder should not be fed afterwards.
func (b *Builder) Report() *Report {
	if !b.dataBegun {
		b.beginData()
	}
	o := b.o
	r := &Report{Generated: o.Now.UTC().Format(time.RFC3339), Source: o.Source, BucketSeconds: b.bucketMs / 1000,
		Range: Range{From: fmtMs(o.FromMs), To: fmtMs(o.ToMs), FromMs: o.FromMs, ToMs: o.ToMs,
			Seconds: float64(o.ToMs-o.FromMs) / 1000},
		GapCounts: b.gapCounts, GapsOmitted: b.omitted}
	b.addExpectedStreams()
	vs := b.sortedVStreams()
	rates := b.rateSeries(vs)
	medInterval := map[int]float64{}
	for i, v := range vs {
		if m := median(slices.Clone(b.wholeBuckets(rates[i].PerMin))); m > 0 {
			medInterval[v.id] = 60000 / m
		}
	}
	sgaps := b.sessionGaps()
	for _, g := range sgaps {
		b.gapCounts[g.Reason]++
	}
	all := append(slices.Clone(b.gaps), sgaps...)
	for _, g := range b.gaps {
		g.CoveredByOther, g.CoveredEvents = b.coveredByOther(g, vs, medInterval)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].StartMs < all[j].StartMs })
	r.Gaps = make([]Gap, len(all))
	for i, g := range all {
		r.Gaps[i] = g.Gap
	}

	ratio := map[chanInst]float64{}
	for _, v := range vs {
		var iv [][2]int64
		n := 0
		for _, g := range all {
			if !g.CoveredByOther && g.applies(v.key.channel, v.key.inst) && g.EndMs >= o.FromMs && g.StartMs < o.ToMs {
				iv = append(iv, [2]int64{g.StartMs, g.EndMs})
				n++
			}
		}
		cov := 1 - float64(uncovered(iv, o.FromMs, o.ToMs))/float64(o.ToMs-o.FromMs)
		ratio[v.key] = cov
		verdict := Complete
		switch {
		case v.events == 0:
			verdict, cov = NoData, 0
		case n > 0:
			verdict = HasGaps
		}
		r.Verdicts = append(r.Verdicts, Verdict{Channel: v.key.channel, InstID: v.key.inst, Verdict: verdict,
			Events: v.events, Gaps: n, CoverageRatio: round(cov, 6)})
	}
	r.Coverage = b.coverage(ratio)
	r.Latency, r.Series.Lags = b.latency()
	for i := range rates {
		if vs[i].events > 0 {
			r.Series.Rates = append(r.Series.Rates, rates[i])
		}
	}
	r.Books = b.bookRows()
	r.Sessions = b.sessionRows()
	return r
}

// addExpectedStreams lists (channel, instrument) pairs that were asked for but have no data: the selection
// when it names both, and each session's subscriptions. Only channels subscribed per instrument id (the
// registry's selector) are expected per instrument; the others (by instrument type, currency) are listed
// as their data come.
func (b *Builder) addExpectedStreams() {
	perInst := func(c string) bool {
		e := channels.Lookup(c)
		return e != nil && e.Selector == channels.ByInstID
	}
	for _, c := range b.o.Channels {
		for _, i := range b.o.Insts {
			if perInst(c) {
				b.vstream(c, i)
			}
		}
	}
	for _, s := range b.sessOrder {
		end := s.s.EndMs
		if end == 0 {
			end = math.MaxInt64
		}
		if end < b.o.FromMs || s.s.StartMs >= b.o.ToMs {
			continue
		}
		for _, c := range splitList(s.s.Channels) {
			if !perInst(c) || (len(b.o.Channels) > 0 && !slices.Contains(b.o.Channels, c)) {
				continue
			}
			for _, i := range splitList(s.s.Instruments) {
				if len(b.o.Insts) == 0 || slices.Contains(b.o.Insts, i) {
					b.vstream(c, i)
				}
			}
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func (b *Builder) sortedVStreams() []*vstream {
	vs := make([]*vstream, 0, len(b.vstreams))
	for _, v := range b.vstreams {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].key.inst != vs[j].key.inst {
			return vs[i].key.inst < vs[j].key.inst
		}
		return vs[i].key.channel < vs[j].key.channel
	})
	return vs
}

// perMin converts bucket counts to events per minute, each bucket clipped to the range.
func (b *Builder) perMin(counts []uint32, out []float64) []float64 {
	for i, c := range counts {
		lo := b.o.FromMs + int64(i)*b.bucketMs
		hi := min(lo+b.bucketMs, b.o.ToMs)
		out[i] += float64(c) * 60000 / float64(max(hi-lo, 1))
	}
	return out
}

// wholeBuckets drops a last bucket that the range cuts to less than half its width (its rate is noise),
// unless it is the only one.
func (b *Builder) wholeBuckets(pm []float64) []float64 {
	if n := len(pm); n > 1 && (b.o.ToMs-b.o.FromMs)%b.bucketMs < b.bucketMs/2 && (b.o.ToMs-b.o.FromMs)%b.bucketMs != 0 {
		return pm[:n-1]
	}
	return pm
}

// rateSeries sums each vstream's primary datasets per bucket.
func (b *Builder) rateSeries(vs []*vstream) []RateSeries {
	idx := map[chanInst]int{}
	out := make([]RateSeries, len(vs))
	for i, v := range vs {
		idx[v.key] = i
		out[i] = RateSeries{Channel: v.key.channel, InstID: v.key.inst, PerMin: make([]float64, b.nb)}
	}
	for k, s := range b.streams {
		if isLedger(k.table) || isAuxiliary(k.table) {
			continue
		}
		if i, ok := idx[chanInst{k.channel, k.inst}]; ok {
			b.perMin(s.buckets, out[i].PerMin)
		}
	}
	for i := range out {
		for j, x := range out[i].PerMin {
			out[i].PerMin[j] = round(x, 3)
		}
	}
	return out
}

func (b *Builder) coverage(ratio map[chanInst]float64) []Coverage {
	var out []Coverage
	span := float64(b.o.ToMs-b.o.FromMs) / 1000
	for _, s := range b.streams {
		if s.events == 0 {
			continue
		}
		c := Coverage{Dataset: s.key.table.Name, Channel: s.key.channel, InstID: s.key.inst, Ledger: isLedger(s.key.table),
			Events: s.events, FirstTs: fmtMs(s.first), LastTs: fmtMs(s.last), FirstTsMs: s.first, LastTsMs: s.last,
			RangeSeconds: span, Duplicates: s.dups}
		if !c.Ledger {
			cov, ok := ratio[chanInst{s.key.channel, s.key.inst}]
			if !ok {
				cov = 1 // an auxiliary dataset's stream without primary rows
			}
			c.CoverageRatio = round(cov, 6)
			c.CoveredSeconds = round(cov*span, 3)
			pm := b.wholeBuckets(b.perMin(s.buckets, make([]float64, b.nb)))
			mx, mn := 0.0, math.Inf(1)
			for _, x := range pm {
				mx, mn = max(mx, x), min(mn, x)
			}
			c.RatePerMin = Rate{Min: round(mn, 3), Median: round(median(pm), 3), Max: round(mx, 3)}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		ta, tc := schema.TableByName(a.Dataset), schema.TableByName(c.Dataset)
		if ta.Kind != tc.Kind {
			return ta.Kind < tc.Kind
		}
		if a.Channel != c.Channel {
			return a.Channel < c.Channel
		}
		return a.InstID < c.InstID
	})
	return out
}

func (b *Builder) latency() ([]Latency, []LagSeries) {
	var rows []Latency
	var series []LagSeries
	for ch, l := range b.lags {
		sk := &l.sk
		rows = append(rows, Latency{Channel: ch, Samples: sk.N(), Negative: l.neg, Min: round(sk.Quantile(0), 3),
			P50: round(sk.Quantile(0.5), 3), P90: round(sk.Quantile(0.9), 3), P99: round(sk.Quantile(0.99), 3),
			P999: round(sk.Quantile(0.999), 3), Max: round(sk.Quantile(1), 3)})
		ls := LagSeries{Channel: ch, MeanMs: make([]float64, b.nb), MaxMs: make([]float64, b.nb)}
		for i := range l.cnt {
			ls.MeanMs[i], ls.MaxMs[i] = -1, -1
			if l.cnt[i] > 0 {
				ls.MeanMs[i], ls.MaxMs[i] = round(l.sum[i]/float64(l.cnt[i]), 3), round(float64(l.max[i]), 3)
			}
		}
		series = append(series, ls)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Channel < rows[j].Channel })
	sort.Slice(series, func(i, j int) bool { return series[i].Channel < series[j].Channel })
	return rows, series
}

func (b *Builder) bookRows() []Books {
	var out []Books
	for _, bk := range b.books {
		out = append(out, *bk)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].InstID != out[j].InstID {
			return out[i].InstID < out[j].InstID
		}
		return out[i].Channel < out[j].Channel
	})
	return out
}

func (b *Builder) sessionRows() []Session {
	var out []Session
	for i, st := range b.sessOrder {
		s := st.s
		end := s.EndMs // without a stop: until the next session starts, or still running
		if end == 0 {
			end = math.MaxInt64
			if i+1 < len(b.sessOrder) {
				end = b.sessOrder[i+1].s.StartMs
			}
		}
		if s.StartMs >= b.o.ToMs || end < b.o.FromMs {
			continue
		}
		row := Session{ID: s.SessionID, Host: s.Host, Version: s.Version, ConfigHash: s.ConfigHash, Channels: s.Channels,
			Instruments: s.Instruments, Start: fmtMs(s.StartMs), StartMs: s.StartMs, StopMs: s.EndMs, Clean: s.EndMs > 0}
		if s.EndMs > 0 {
			row.Stop = fmtMs(s.EndMs)
		}
		out = append(out, row)
	}
	return out
}

func round(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
