package replay

import (
	"context"
	"fmt"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// TableParts is one dataset's parts for a selection, for readers that visit each dataset on its own in
// stored order instead of merging (the data-quality report).
type TableParts struct {
	Table *schema.Table
	Parts []Part
}

// ListParts lists the parts of each table for q. A dataset with nothing stored has no parts.
func ListParts(ctx context.Context, src Source, q store.Query, tables []*schema.Table) ([]TableParts, error) {
	out := make([]TableParts, 0, len(tables))
	for _, t := range tables {
		parts, err := src.Parts(ctx, t, q)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", t.Name, err)
		}
		out = append(out, TableParts{Table: t, Parts: parts})
	}
	return out, nil
}

// PartBounds returns the smallest MinTs and largest MaxTs over the parts of the tables use accepts (nil:
// all), clipped to q's bounds, and false when there are no such parts.
func PartBounds(tps []TableParts, q store.Query, use func(*schema.Table) bool) (lo, hi int64, ok bool) {
	from, to := q.Bounds()
	lo, hi = maxTs, minTs
	for _, tp := range tps {
		if use != nil && !use(tp.Table) {
			continue
		}
		for _, p := range tp.Parts {
			lo, hi = min(lo, max(p.MinTs, from)), max(hi, min(p.MaxTs, to-1))
		}
	}
	return lo, hi, lo <= hi
}

// Scan reads the parts in order and calls fn with every row q selects (the same selection as the merge:
// connection-wide gaps match any channel or instrument list; a part's context rows past OwnTo are skipped),
// and partDone after each part. The event passed to fn is reused after it returns.
func (tp TableParts) Scan(ctx context.Context, q store.Query, fn func(schema.Stored) error, partDone func()) error {
	m := newMatcher(q, tp.Table)
	for _, p := range tp.Parts {
		if !p.overlaps(m.from, m.to) {
			continue
		}
		own := p.OwnTo
		err := p.Read(ctx, func(e schema.Stored) error {
			h := e.Hdr()
			if (own != 0 && h.Ts >= own) || !m.ts(h.Ts) || !m.stream(h.Channel, h.InstID) {
				return nil
			}
			return fn(e)
		})
		if err != nil {
			return fmt.Errorf("reading %s: %w", p.Name, err)
		}
		if partDone != nil {
			partDone()
		}
	}
	return nil
}
