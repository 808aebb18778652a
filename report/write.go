package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the JSON report: %w", err)
	}
	return nil
}

// maxSummaryLines caps the streams the text summary lists.
const maxSummaryLines = 20

// WriteSummary writes a short plain-text summary: the range, the verdict counts, the streams that are not
// complete, and the gaps by reason.
func WriteSummary(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "okxtape report: %s .. %s (%.0f s) from %s\n", r.Range.From, r.Range.To, r.Range.Seconds, r.Source)
	counts := map[string]int{}
	var events uint64
	for _, v := range r.Verdicts {
		counts[v.Verdict]++
		events += v.Events
	}
	fmt.Fprintf(&b, "streams: %d complete, %d with gaps, %d without data; %d events; %d sessions\n",
		counts[Complete], counts[HasGaps], counts[NoData], events, len(r.Sessions))
	shown := 0
	for _, v := range r.Verdicts {
		if v.Verdict != Complete {
			if shown++; shown > maxSummaryLines {
				continue
			}
			fmt.Fprintf(&b, "  %-8s %-16s %-14s %6.2f %% covered, %d gaps, %d events\n", v.Verdict, v.InstID, v.Channel,
				100*v.CoverageRatio, v.Gaps, v.Events)
		}
	}
	if shown > maxSummaryLines {
		fmt.Fprintf(&b, "  ... and %d more (see the report)\n", shown-maxSummaryLines)
	}
	if len(r.GapCounts) > 0 {
		reasons := make([]string, 0, len(r.GapCounts))
		for k := range r.GapCounts {
			reasons = append(reasons, k)
		}
		sort.Strings(reasons)
		parts := make([]string, len(reasons))
		for i, k := range reasons {
			parts[i] = fmt.Sprintf("%s %d", k, r.GapCounts[k])
		}
		fmt.Fprintf(&b, "gaps: %s\n", strings.Join(parts, ", "))
	}
	for _, l := range r.Latency {
		fmt.Fprintf(&b, "lag %-14s p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", l.Channel, l.P50, l.P99, l.Max)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
