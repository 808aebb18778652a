package report

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Chart geometry (SVG user units = CSS pixels).
const (
	svgW    = 1000
	labelW  = 150
	plotW   = svgW - labelW - 20
	rowH    = 18
	chartH  = 180
	axisH   = 22
	palette = "#1f77b4,#d62728,#2ca02c,#ff7f0e,#9467bd,#8c564b,#e377c2,#7f7f7f,#bcbd22,#17becf"
)

var colors = strings.Split(palette, ",")

func color(i int) string { return colors[i%len(colors)] }

// xOf maps a time to the plot's x coordinate.
func xOf(r *Report, ms int64) float64 {
	span := float64(max(r.Range.ToMs-r.Range.FromMs, 1))
	f := float64(ms-r.Range.FromMs) / span
	return labelW + math.Min(math.Max(f, 0), 1)*plotW
}

// timeAxis draws about six labelled ticks at y.
func timeAxis(b *strings.Builder, r *Report, y float64) {
	span := r.Range.ToMs - r.Range.FromMs
	layout := "15:04:05"
	if span > 2*86400000 {
		layout = "01-02 15:04"
	}
	fmt.Fprintf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", labelW, y, labelW+plotW, y)
	for i := 0; i <= 5; i++ {
		ms := r.Range.FromMs + span*int64(i)/5
		x := xOf(r, ms)
		fmt.Fprintf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, y, x, y+4)
		anchor := "middle"
		if i == 5 {
			anchor = "end"
		}
		fmt.Fprintf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>", x, y+15, anchor,
			time.UnixMilli(ms).UTC().Format(layout))
	}
}

// applies reports whether a listed gap concerns stream (channel, inst), as the builder decided.
func (g Gap) applies(channel, inst string) bool {
	st := gapState{Gap: g}
	if g.Scope == ScopeRecorder {
		st.all = true
	} else if g.Channel == "" {
		st.args = parseArgs(g.Detail)
		st.all = len(st.args) == 0
	}
	return st.applies(channel, inst)
}

// writeTimelines draws, per instrument, one bar per channel over the range: buckets holding events in green,
// gaps on top in red (recorder-wide gaps in dark grey, gaps another recorder covered hatched in amber).
func writeTimelines(b *strings.Builder, r *Report) {
	insts, chans := gridAxes(r)
	rates := map[[2]string][]float64{}
	for _, s := range r.Series.Rates {
		rates[[2]string{s.Channel, s.InstID}] = s.PerMin
	}
	b.WriteString("<section id=\"timeline\"><h2>Coverage timeline</h2><p class=\"legend\"><span class=\"sw ok\"></span>events " +
		"<span class=\"sw gap\"></span>gap <span class=\"sw rec\"></span>recorder not running " +
		"<span class=\"sw cov\"></span>gap covered by another recorder <span class=\"sw none\"></span>no events</p>\n")
	for _, inst := range insts {
		var rows []string
		for _, c := range chans {
			for _, v := range r.Verdicts {
				if v.InstID == inst && v.Channel == c {
					rows = append(rows, c)
				}
			}
		}
		h := len(rows)*rowH + axisH + 4
		fmt.Fprintf(b, "<h3>%s</h3><svg class=\"chart timeline\" data-inst=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">",
			esc(inst), esc(inst), svgW, h, svgW, h)
		for i, c := range rows {
			y := float64(i * rowH)
			fmt.Fprintf(b, "<text class=\"lbl\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", labelW-6, y+13, esc(c))
			fmt.Fprintf(b, "<rect class=\"none\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>", labelW, y+2, plotW, rowH-4)
			drawBuckets(b, r, rates[[2]string{c, inst}], y)
			drawGapMarks(b, r, c, inst, y)
		}
		timeAxis(b, r, float64(len(rows)*rowH+2))
		b.WriteString("</svg>\n")
	}
	b.WriteString("</section>\n")
}

// mark is one drawn gap mark: gaps closer than a pixel merge into one, so the page stays small whatever the
// number of gaps.
type mark struct {
	cls      string
	x0, x1   float64
	n        int
	first    Gap
	duration float64
}

// drawGapMarks draws the gaps of one (channel, instrument) on its timeline row.
func drawGapMarks(b *strings.Builder, r *Report, channel, inst string, y float64) {
	var marks []*mark
	last := map[string]*mark{}
	for _, g := range r.Gaps { // by start
		if !g.applies(channel, inst) {
			continue
		}
		cls := "gap"
		switch {
		case g.CoveredByOther:
			cls = "cov"
		case g.Scope == ScopeRecorder:
			cls = "rec"
		}
		x0, x1 := xOf(r, g.StartMs), xOf(r, g.EndMs)
		x1 = math.Max(x1, x0+1.5)
		if m := last[cls]; m != nil && x0 <= m.x1+1 {
			m.x1, m.n, m.duration = math.Max(m.x1, x1), m.n+1, m.duration+g.DurationS
			continue
		}
		m := &mark{cls: cls, x0: x0, x1: x1, n: 1, first: g, duration: g.DurationS}
		last[cls] = m
		marks = append(marks, m)
	}
	for _, m := range marks {
		title := fmt.Sprintf("%s %s → %s (%.3f s) %s", m.first.Reason, m.first.Start, m.first.End, m.duration, m.first.Conn)
		if m.n > 1 {
			title = fmt.Sprintf("%d gaps from %s, %.3f s in all", m.n, m.first.Start, m.duration)
		}
		fmt.Fprintf(b, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\"><title>%s</title></rect>",
			m.cls, m.x0, y+1, m.x1-m.x0, rowH-2, esc(title))
	}
}

// drawBuckets draws runs of buckets that hold events.
func drawBuckets(b *strings.Builder, r *Report, perMin []float64, y float64) {
	bucket := r.BucketSeconds * 1000
	for i := 0; i < len(perMin); {
		if perMin[i] == 0 {
			i++
			continue
		}
		j := i
		for j < len(perMin) && perMin[j] > 0 {
			j++
		}
		x0 := xOf(r, r.Range.FromMs+int64(i)*bucket)
		x1 := xOf(r, r.Range.FromMs+int64(j)*bucket)
		fmt.Fprintf(b, "<rect class=\"ok\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\"/>", x0, y+2, x1-x0, rowH-4)
		i = j
	}
}

// line is one series of a line chart; values < 0 are missing.
type line struct {
	name   string
	values []float64
	dashed bool
	color  string
}

// lineChart draws series against time, y from 0 to the largest value.
func lineChart(b *strings.Builder, r *Report, class, title, unit string, lines []line) {
	bucket := r.BucketSeconds * 1000
	// A last bucket the range cuts short has a noisy rate: it is not drawn.
	tail := (r.Range.ToMs - r.Range.FromMs) % max(bucket, 1)
	shortLast := class == "rate" && tail != 0 && tail < bucket/2
	top := 0.0
	for _, l := range lines {
		for i, v := range l.values {
			if !(shortLast && i == len(l.values)-1) {
				top = math.Max(top, v)
			}
		}
	}
	if top == 0 {
		top = 1
	}
	h := chartH + axisH
	fmt.Fprintf(b, "<h3>%s</h3><svg class=\"chart %s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">",
		esc(title), class, svgW, h, svgW, h)
	for i := 0; i <= 4; i++ {
		y := 4 + float64(chartH-8)*float64(i)/4
		fmt.Fprintf(b, "<line class=\"gridline\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", labelW, y, labelW+plotW, y)
		fmt.Fprintf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", labelW-6, y+4,
			num(top*float64(4-i)/4))
	}
	fmt.Fprintf(b, "<text class=\"tick\" x=\"4\" y=\"14\">%s</text>", esc(unit))
	for _, l := range lines {
		var d strings.Builder
		pen := false
		for i, v := range l.values {
			if v < 0 || (i == len(l.values)-1 && shortLast) {
				pen = false
				continue
			}
			x := xOf(r, r.Range.FromMs+int64(i)*bucket+bucket/2)
			y := 4 + float64(chartH-8)*(1-v/top)
			op := "L"
			if !pen {
				op = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", op, x, y)
			pen = true
		}
		dash := ""
		if l.dashed {
			dash = " stroke-dasharray=\"4 3\" stroke-opacity=\"0.6\""
		}
		fmt.Fprintf(b, "<path class=\"series\" d=\"%s\" stroke=\"%s\"%s><title>%s</title></path>", strings.TrimSpace(d.String()),
			l.color, dash, esc(l.name))
		if countValid(l.values) == 1 {
			for i, v := range l.values {
				if v >= 0 {
					fmt.Fprintf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", xOf(r, r.Range.FromMs+int64(i)*bucket+bucket/2),
						4+float64(chartH-8)*(1-v/top), l.color)
				}
			}
		}
	}
	timeAxis(b, r, chartH)
	b.WriteString("</svg><p class=\"legend\">")
	for _, l := range lines {
		if !l.dashed {
			fmt.Fprintf(b, "<span class=\"sw\" style=\"background:%s\"></span>%s ", l.color, esc(l.name))
		}
	}
	b.WriteString("</p>\n")
}

func countValid(xs []float64) int {
	n := 0
	for _, x := range xs {
		if x >= 0 {
			n++
		}
	}
	return n
}

func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// writeRates draws the event rate per instrument, one line per channel.
func writeRates(b *strings.Builder, r *Report) {
	insts, chans := gridAxes(r)
	ci := map[string]int{}
	for i, c := range chans {
		ci[c] = i
	}
	fmt.Fprintf(b, "<section id=\"rates\"><h2>Event rate (events per minute, %d s buckets)</h2>\n", r.BucketSeconds)
	for _, inst := range insts {
		var lines []line
		for _, s := range r.Series.Rates {
			if s.InstID == inst {
				lines = append(lines, line{name: s.Channel, values: s.PerMin, color: color(ci[s.Channel])})
			}
		}
		if len(lines) > 0 {
			lineChart(b, r, "rate", inst, "events/min", lines)
		}
	}
	b.WriteString("</section>\n")
}

// writeLags draws each channel's mean lag per bucket (solid) and maximum (dashed).
func writeLags(b *strings.Builder, r *Report) {
	if len(r.Series.Lags) == 0 {
		return
	}
	var lines []line
	for i, l := range r.Series.Lags {
		lines = append(lines, line{name: l.Channel + " mean", values: l.MeanMs, color: color(i)},
			line{name: l.Channel + " max", values: l.MaxMs, color: color(i), dashed: true})
	}
	b.WriteString("<section id=\"lag\"><h2>Exchange &rarr; local lag</h2>\n")
	lineChart(b, r, "lag", "mean (solid) and max (dashed) per bucket", "ms", lines)
	b.WriteString("</section>\n")
}
