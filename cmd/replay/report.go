package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/replay"
	"github.com/okxtape/okxtape/report"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

func reportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Value: "report.html", EnvVars: env("REPORT_OUT"), Usage: "the self-contained HTML report to write (\"\" or - for none)"},
		&cli.StringFlag{Name: "json", EnvVars: env("REPORT_JSON"), Usage: "also write the report as JSON to this file"},
	}
}

// reportCmd streams every dataset of the range once, dataset by dataset (no merge), into the report builder.
func reportCmd(c *cli.Context) error {
	rg, err := setup(c)
	if err != nil {
		return err
	}
	defer rg.done()
	ctx, log, q, src, srcName := rg.ctx, rg.log, rg.q, rg.src, rg.name
	started := time.Now()
	tps, err := replay.ListParts(ctx, src, q, report.Tables())
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	queries := make([]store.Query, len(tps))
	for i, tp := range tps {
		queries[i] = q
		if lf := report.LedgerFrom(tp.Table, q.From); !lf.Equal(q.From) {
			queries[i].From = lf
			if tps[i].Parts, err = src.Parts(ctx, tp.Table, queries[i]); err != nil {
				return cli.Exit(fmt.Sprintf("replay: listing %s: %v", tp.Table.Name, err), 1)
			}
		}
	}
	from, to := q.Bounds()
	lo, hi, ok := replay.PartBounds(tps, q, report.RangeTable)
	if !ok {
		lo, hi, ok = replay.PartBounds(tps, q, nil)
	}

	if ok {
		from, to = lo, hi+1
		if !q.To.IsZero() {
			to = q.To.UnixMilli()
		}
		if !q.From.IsZero() {
			from = q.From.UnixMilli()
		}
	} else if q.From.IsZero() || q.To.IsZero() {
		return cli.Exit(fmt.Sprintf("replay: nothing stored in %s for this selection", srcName), 1)
	}
	b := report.NewBuilder(report.Options{FromMs: from, ToMs: to, Insts: q.Insts, Channels: q.Channels,
		Source: srcName, CrossPartDuplicates: strings.HasPrefix(srcName, "parquet:")})
	for i, tp := range tps {
		t := tp.Table
		err := tp.Scan(ctx, queries[i], func(e schema.Stored) error { b.Add(t, e); return nil }, b.PartDone)
		if err != nil {
			return cli.Exit("replay: "+err.Error(), 1)
		}
	}
	r := b.Report()
	if err := writeReports(ctx, c, r); err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	log.Debug("report written", "wall", time.Since(started))
	return report.WriteSummary(os.Stdout, r)
}

func writeReports(_ context.Context, c *cli.Context, r *report.Report) error {
	if p := c.String("json"); p != "" {
		var buf bytes.Buffer
		if err := report.WriteJSON(&buf, r); err != nil {
			return err
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	if p := c.String("out"); p != "" && p != "-" {
		var buf bytes.Buffer
		if err := report.WriteHTML(&buf, r); err != nil {
			return err
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	return nil
}
