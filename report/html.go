package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html"
	"io"
	"slices"
	"sort"
	"strings"
)

//go:embed report.js
var reportJS string

//go:embed report.css
var reportCSS string

// csp forbids every load from anywhere: the page is self-contained, and a violation is reported in it.
const csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

// errorHook runs first and records script errors and blocked loads on the root element (data-js-errors and
// a visible list), so a headless browser's DOM dump shows them.
const errorHook = `(function(){var n=0;function note(m){n++;var r=document.documentElement;r.setAttribute('data-js-errors',String(n));
var l=document.getElementById('js-errors');if(l){l.hidden=false;var li=document.createElement('li');li.textContent=m;l.appendChild(li);}else{r.setAttribute('data-js-error-'+n,m);}}
window.addEventListener('error',function(e){note('error: '+(e.message||e.type)+(e.filename?' at '+e.filename+':'+e.lineno:''));},true);
window.addEventListener('unhandledrejection',function(e){note('unhandled rejection: '+e.reason);});
document.addEventListener('securitypolicyviolation',function(e){note('blocked load: '+e.blockedURI+' ('+e.violatedDirective+')');});})();`

// WriteHTML writes the report as one self-contained HTML page: no script, style, font or image is loaded
// from anywhere (a Content-Security-Policy forbids it); the charts are inline SVG.
func WriteHTML(w io.Writer, r *Report) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
	p("<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">\n", csp)
	p("<title>okxtape report %s .. %s</title>\n<script>%s</script>\n<style>%s</style></head>\n<body>\n",
		esc(r.Range.From), esc(r.Range.To), errorHook, reportCSS)
	p("<ul id=\"js-errors\" hidden></ul>\n")
	p("<header><h1>okxtape data-quality report</h1><p>%s &rarr; %s (%s) &middot; %s &middot; generated %s</p></header>\n",
		esc(r.Range.From), esc(r.Range.To), dur(r.Range.Seconds), esc(r.Source), esc(r.Generated))
	writeVerdicts(&b, r)
	writeTimelines(&b, r)
	writeRates(&b, r)
	writeLags(&b, r)
	writeGapTable(&b, r)
	writeTables(&b, r)
	p("<script>%s</script>\n</body></html>\n", reportJS)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}

func esc(s string) string { return html.EscapeString(s) }

func dur(s float64) string {
	switch {
	case s < 120:
		return fmt.Sprintf("%.1f s", s)
	case s < 7200:
		return fmt.Sprintf("%.1f min", s/60)
	}
	return fmt.Sprintf("%.1f h", s/3600)
}

// instruments and channels of the verdict grid, sorted.
func gridAxes(r *Report) (insts, chans []string) {
	seenI, seenC := map[string]bool{}, map[string]bool{}
	for _, v := range r.Verdicts {
		if !seenI[v.InstID] {
			seenI[v.InstID] = true
			insts = append(insts, v.InstID)
		}
		if !seenC[v.Channel] {
			seenC[v.Channel] = true
			chans = append(chans, v.Channel)
		}
	}
	sort.Strings(insts)
	sort.Strings(chans)
	return insts, chans
}

// writeVerdicts draws the verdict grid: channels down and instruments across, or the other way round when
// there are more instruments than channels.
func writeVerdicts(b *strings.Builder, r *Report) {
	insts, chans := gridAxes(r)
	cell := map[[2]string]Verdict{}
	for _, v := range r.Verdicts {
		cell[[2]string{v.Channel, v.InstID}] = v
	}
	rows, cols, corner := chans, insts, "channel"
	rowClass, colClass := "", " class=\"inst\""
	byInst := len(insts) > len(chans)
	if byInst {
		rows, cols, corner = insts, chans, "instrument"
		rowClass, colClass = " class=\"inst\"", ""
	}
	fmt.Fprintf(b, "<section id=\"verdicts\"><h2>Verdict</h2><table class=\"grid\"><thead><tr><th>%s</th>", corner)
	for _, c := range cols {
		fmt.Fprintf(b, "<th%s>%s</th>", colClass, esc(c))
	}
	b.WriteString("</tr></thead><tbody>\n")
	for _, row := range rows {
		fmt.Fprintf(b, "<tr><th%s>%s</th>", rowClass, esc(row))
		for _, col := range cols {
			k := [2]string{row, col}
			if byInst {
				k = [2]string{col, row}
			}
			v, ok := cell[k]
			if !ok {
				b.WriteString("<td class=\"na\">&ndash;</td>")
				continue
			}
			cls := map[string]string{Complete: "ok", HasGaps: "gaps", NoData: "nodata"}[v.Verdict]
			fmt.Fprintf(b, "<td class=\"%s\" title=\"%s %s: %d events, %d gaps\">%s<br><small>%.2f %%</small></td>",
				cls, esc(v.Channel), esc(v.InstID), v.Events, v.Gaps, esc(v.Verdict), 100*v.CoverageRatio)
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>")
	if len(r.Verdicts) == 0 {
		b.WriteString("<p>Nothing stored in this range.</p>")
	}
	b.WriteString("</section>\n")
}

// maxGapRows caps the gap table of the page.
const maxGapRows = 2000

func writeGapTable(b *strings.Builder, r *Report) {
	fmt.Fprintf(b, "<section id=\"gaps\"><h2>Gaps (%d)</h2>", len(r.Gaps))
	if r.GapsOmitted > 0 {
		fmt.Fprintf(b, "<p>%d more gap-ledger rows are counted but not listed.</p>", r.GapsOmitted)
	}
	b.WriteString("<p class=\"hint\">Click a column to sort.</p><table class=\"sortable\" id=\"gap-table\"><thead><tr>" +
		"<th data-type=\"num\">start</th><th data-type=\"num\">end</th><th data-type=\"num\">seconds</th><th>scope</th>" +
		"<th>connection</th><th>channel</th><th>instrument</th><th>reason</th><th>covered by another recorder</th>" +
		"<th>detail</th></tr></thead><tbody>\n")
	gaps := r.Gaps
	if len(gaps) > maxGapRows {
		// The longest ones, in time order; report.json lists them all.
		gaps = slices.Clone(gaps)
		slices.SortStableFunc(gaps, func(a, b Gap) int { return cmp.Compare(b.DurationS, a.DurationS) })
		gaps = gaps[:maxGapRows]
		slices.SortStableFunc(gaps, func(a, b Gap) int { return cmp.Compare(a.StartMs, b.StartMs) })
		fmt.Fprintf(b, "<p>The %d longest gaps are listed; report.json has all %d.</p>", maxGapRows, len(r.Gaps))
	}
	for _, g := range gaps {
		cov := "no"
		if g.CoveredByOther {
			cov = "yes"
		}
		fmt.Fprintf(b, "<tr class=\"r-%s\"><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%g\">%.3f</td>"+
			"<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"detail\">%s</td></tr>\n",
			esc(g.Reason), g.StartMs, esc(g.Start), g.EndMs, esc(g.End), g.DurationS, g.DurationS, esc(g.Scope), esc(g.Conn),
			esc(g.Channel), esc(g.InstID), esc(g.Reason), cov, esc(g.Detail))
	}
	b.WriteString("</tbody></table></section>\n")
}

func writeTables(b *strings.Builder, r *Report) {
	b.WriteString("<section id=\"latency\"><h2>Exchange &rarr; local lag (ms)</h2><table class=\"sortable\"><thead><tr>" +
		"<th>channel</th><th data-type=\"num\">events</th><th data-type=\"num\">p50</th><th data-type=\"num\">p90</th>" +
		"<th data-type=\"num\">p99</th><th data-type=\"num\">p99.9</th><th data-type=\"num\">max</th>" +
		"<th data-type=\"num\">negative (clock skew)</th></tr></thead><tbody>\n")
	for _, l := range r.Latency {
		fmt.Fprintf(b, "<tr><td>%s</td><td>%d</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%d</td></tr>\n",
			esc(l.Channel), l.Samples, l.P50, l.P90, l.P99, l.P999, l.Max, l.Negative)
	}
	b.WriteString("</tbody></table><p class=\"hint\">Candles are excluded: their ts is the bar start.</p></section>\n")

	b.WriteString("<section id=\"coverage\"><h2>Coverage</h2><table class=\"sortable\"><thead><tr><th>dataset</th><th>channel</th>" +
		"<th>instrument</th><th data-type=\"num\">events</th><th>first</th><th>last</th><th data-type=\"num\">covered</th>" +
		"<th data-type=\"num\">events/min min</th><th data-type=\"num\">median</th><th data-type=\"num\">max</th>" +
		"<th data-type=\"num\">duplicates</th></tr></thead><tbody>\n")
	for _, c := range r.Coverage {
		cov := "ledger"
		if !c.Ledger {
			cov = fmt.Sprintf("%.2f %%", 100*c.CoverageRatio)
		}
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td data-v=\"%g\">%s</td>"+
			"<td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%d</td></tr>\n", esc(c.Dataset), esc(c.Channel), esc(c.InstID),
			c.Events, esc(c.FirstTs), esc(c.LastTs), c.CoverageRatio, cov, c.RatePerMin.Min, c.RatePerMin.Median,
			c.RatePerMin.Max, c.Duplicates)
	}
	b.WriteString("</tbody></table></section>\n")

	b.WriteString("<section id=\"books\"><h2>Order books</h2><table class=\"sortable\"><thead><tr><th>channel</th>" +
		"<th>instrument</th><th data-type=\"num\">snapshots</th><th data-type=\"num\">updates</th><th data-type=\"num\">resyncs</th>" +
		"<th data-type=\"num\">seqId breaks</th><th data-type=\"num\">stored chain breaks</th>" +
		"<th data-type=\"num\">checksums verified</th><th data-type=\"num\">checksum failures</th>" +
		"<th data-type=\"num\">crossed (ledger)</th><th data-type=\"num\">crossed quotes</th></tr></thead><tbody>\n")
	for _, k := range r.Books {
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td></tr>\n",
			esc(k.Channel), esc(k.InstID), k.Snapshots, k.Updates, k.Resyncs, k.SeqBreaks, k.StoredChainBreaks,
			k.ChecksumsVerified, k.ChecksumFailures, k.CrossedBooks, k.CrossedQuotes)
	}
	b.WriteString("</tbody></table></section>\n")

	b.WriteString("<section id=\"sessions\"><h2>Recording sessions</h2><table class=\"sortable\"><thead><tr><th>start</th>" +
		"<th>stop</th><th>host</th><th>version</th><th>config</th><th>channels</th><th>instruments</th></tr></thead><tbody>\n")
	for _, s := range r.Sessions {
		stop := esc(s.Stop)
		if !s.Clean {
			stop = "<em>no clean stop</em>"
		}
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"detail\">%s</td><td class=\"detail\">%s</td></tr>\n",
			esc(s.Start), stop, esc(s.Host), esc(s.Version), esc(s.ConfigHash), esc(s.Channels), esc(s.Instruments))
	}
	b.WriteString("</tbody></table></section>\n")
}
