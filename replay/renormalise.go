package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/okxtape/okxtape/ingest"
	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// RenormaliseOptions configure Renormalise.
type RenormaliseOptions struct {
	Dir      string    // the Parquet store holding the raw-frame dataset
	Out      string    // where the rebuilt store is written; must not be Dir and must hold no Parquet files
	From, To time.Time // raw frames whose receive time is in [From, To); zero: unbounded
	Logger   *slog.Logger
}

// RenormaliseStats summarise a Renormalise run.
type RenormaliseStats struct {
	Frames    uint64            `json:"frames"`
	Bad       uint64            `json:"bad_frames"` // malformed or of a channel the decoder does not know
	Events    map[string]uint64 `json:"events"`     // rows written per dataset
	Copied    map[string]uint64 `json:"copied"`     // ledger rows and raw files carried over
	FirstSeq  uint64            `json:"first_seq"`
	LastSeq   uint64            `json:"last_seq"`
	WallSecs  float64           `json:"wall_s"`
	OutputDir string            `json:"out"`
}

// Renormalise rebuilds the normalised datasets from the raw frames, without the exchange: each raw frame goes
// through ingest's frame pipeline (ingest.Pipeline, the one every live connection uses: the current decoder,
// then a book.Manager for depth channels, so books, quotes and book gaps are rebuilt as live:
// sequence/checksum incidents become gaps, recovery waits for the next snapshot), and everything is written
// through the Parquet sink into opts.Out.
//
// Order and sequence numbers: raw frames are processed part file by part file in the store's order (date,
// first seq), each file's frames in seq (arrival) order. The rebuilt events are re-stamped with a fresh,
// strictly increasing sequence that starts just above the largest seq of any part file in Dir, in processing
// order; so every stream keeps its arrival order, no seq collides with a recorded one, and two runs over the
// same store produce identical files. Rows that cannot be rebuilt from frames are carried over with their
// recorded seq: disconnect gaps (the connection ledger) and session rows; the raw part files are hard-linked
// (or copied) into Out, so Out is a complete store.
func Renormalise(ctx context.Context, o RenormaliseOptions) (RenormaliseStats, error) {
	started := time.Now()
	st := RenormaliseStats{Events: map[string]uint64{}, Copied: map[string]uint64{}, OutputDir: o.Out}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	rawParts, err := renormaliseInputs(o)
	if err != nil {
		return st, err
	}
	next, err := maxStoredSeq(o.Dir)
	if err != nil {
		return st, err
	}
	next++
	st.FirstSeq = next

	sink := parquet.NewSink(o.Out, parquet.Options{Logger: log})
	if err := sink.Open(ctx); err != nil {
		return st, err
	}
	w := &batcher{ctx: ctx, sink: sink, buf: map[schema.Kind][]schema.Stored{}}
	q := store.Query{From: o.From, To: o.To}
	// Ledger rows first: their recorded seqs are below every fresh one, and the sink wants increasing seqs.
	for _, t := range []*schema.Table{schema.SessionTable, schema.GapTable} {
		n, err := copyLedger(ctx, o.Dir, t, q, w)
		if err != nil {
			return st, err
		}
		st.Copied[t.Name] = n
	}
	if err := w.flushAll(); err != nil {
		return st, err
	}
	rb := &rebuild{w: w, next: next}
	if err := rb.run(ctx, rawParts, newMatcher(q, schema.RawTable), log, &st); err != nil {
		return st, err
	}
	if err := w.flushAll(); err != nil {
		return st, err
	}
	if err := sink.Close(ctx); err != nil {
		return st, err
	}
	for k, v := range sink.Stats().Rows {
		st.Events[k] = v
	}
	for _, p := range rawParts {
		if err := linkOrCopy(p.Path, filepath.Join(o.Out, schema.RawTable.Name, "date="+p.Date, filepath.Base(p.Path))); err != nil {
			return st, fmt.Errorf("renormalise: carrying over raw frames: %w", err)
		}
		st.Copied["raw_files"]++
	}
	st.LastSeq = rb.next - 1
	st.WallSecs = time.Since(started).Seconds()
	return st, nil
}

// renormaliseInputs checks the output folder (set, not the store, holding no store yet) and lists the raw
// part files of the range.
func renormaliseInputs(o RenormaliseOptions) ([]parquet.PartFile, error) {
	if o.Out == "" {
		return nil, errors.New("renormalise: no output folder")
	}
	if a, b := filepath.Clean(o.Dir), filepath.Clean(o.Out); a == b {
		return nil, errors.New("renormalise: the output folder must differ from the store (the originals stay until you replace them)")
	}
	existing, err := parquet.Glob(o.Out, "*", "date=*", "*.parquet")
	if err != nil {
		return nil, fmt.Errorf("renormalise: %w", err)
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("renormalise: %s already holds a store; remove it or choose another --out", o.Out)
	}
	to := o.To
	if !to.IsZero() {
		to = to.Add(-time.Millisecond)
	}
	rawParts, err := parquet.ListParts(o.Dir, schema.RawTable.Name, o.From, to)
	if err != nil {
		return nil, fmt.Errorf("renormalise: %w", err)
	}
	if len(rawParts) == 0 {
		return nil, fmt.Errorf("renormalise: no raw frames in %s for the range", o.Dir)
	}
	return rawParts, nil
}

// rebuild runs stored raw frames through ingest's frame pipeline (the one live connections use) and
// re-stamps what comes out with fresh sequence numbers.
type rebuild struct {
	w    *batcher
	next uint64    // the next fresh seq
	now  time.Time // the receive time of the frame being rebuilt: the book manager's clock
}

// stamp keeps a rebuilt stored event with the next fresh seq (connection events are not stored).
func (rb *rebuild) stamp(e schema.Event) {
	s, ok := e.(schema.Stored)
	if !ok || schema.TableOf(e.Kind()) == nil {
		return
	}
	c := schema.Clone(s)
	c.Hdr().Seq = rb.next
	rb.next++
	rb.w.add(c)
}

// run rebuilds the frames of parts in order (part files in store order, each file's frames by seq).
func (rb *rebuild) run(ctx context.Context, parts []parquet.PartFile, m matcher, log *slog.Logger, st *RenormaliseStats) error {
	mgr := book.NewManager(book.Options{Emit: rb.stamp, Logger: log, Conn: "renormalise",
		Now: func() time.Time { return rb.now }})
	defer mgr.Close()
	pipe := ingest.NewPipeline(mgr, rb.stamp)
	var frames []schema.Raw
	for _, p := range parts {
		frames = frames[:0]
		err := parquet.ReadFile(p.Path, func(e schema.Stored) error {
			if r := e.(*schema.Raw); m.ts(r.Ts) {
				frames = append(frames, *r)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("renormalise: %w", err)
		}
		slices.SortFunc(frames, func(a, b schema.Raw) int { return cmp.Compare(a.Seq, b.Seq) })
		for i := range frames {
			if i&1023 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			r := &frames[i]
			st.Frames++
			rb.now = time.Unix(0, r.RecvNs)
			if _, err := pipe.Frame([]byte(r.Frame), r.RecvNs); err != nil {
				st.Bad++
			}
			if rb.w.err != nil {
				return rb.w.err
			}
		}
	}
	return nil
}

// batcher buffers rebuilt events per table and writes them through the sink in batches (seq order).
type batcher struct {
	ctx  context.Context
	sink store.Sink
	buf  map[schema.Kind][]schema.Stored
	err  error
}

func (b *batcher) add(e schema.Stored) {
	k := e.Kind()
	b.buf[k] = append(b.buf[k], e)
	if len(b.buf[k]) >= 4096 && b.err == nil {
		b.err = b.flush(k)
	}
}

func (b *batcher) flush(k schema.Kind) error {
	evs := b.buf[k]
	if len(evs) == 0 {
		return nil
	}
	if err := b.sink.Write(b.ctx, store.Batch{Table: schema.TableOf(k), Events: evs}); err != nil {
		return fmt.Errorf("renormalise: writing %s: %w", schema.TableOf(k).Name, err)
	}
	clear(evs)
	b.buf[k] = evs[:0]
	return nil
}

func (b *batcher) flushAll() error {
	if b.err != nil {
		return b.err
	}
	for k := range b.buf {
		if err := b.flush(k); err != nil {
			return err
		}
	}
	return nil
}

// copyLedger carries over session rows and disconnect gaps (book gaps are rebuilt) with their recorded seq.
func copyLedger(ctx context.Context, dir string, t *schema.Table, q store.Query, w *batcher) (uint64, error) {
	var rows []schema.Stored
	src := NewParquetSource(dir)
	s, err := Open(ctx, src, store.Query{From: q.From, To: q.To}, []*schema.Table{t})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	for ev := s.Next(); ev != nil; ev = s.Next() {
		if g, ok := ev.(*schema.Gap); ok && g.Reason != schema.GapDisconnect {
			continue
		}
		rows = append(rows, schema.Clone(ev))
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	slices.SortFunc(rows, func(a, b schema.Stored) int { return cmp.Compare(a.Hdr().Seq, b.Hdr().Seq) })
	for _, r := range rows {
		w.add(r)
	}
	return uint64(len(rows)), w.err
}

// maxStoredSeq returns the largest seq named by any part file of any dataset in dir.
func maxStoredSeq(dir string) (uint64, error) {
	var hi uint64
	for _, t := range schema.Tables() {
		parts, err := parquet.ListParts(dir, t.Name, time.Time{}, time.Time{})
		if err != nil {
			return 0, fmt.Errorf("renormalise: %w", err)
		}
		for _, p := range parts {
			hi = max(hi, p.LastSeq)
		}
	}
	return hi, nil
}

func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst + ".tmp")
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst + ".tmp")
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(dst+".tmp", dst)
}
