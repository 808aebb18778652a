package parquet

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/okxtape/okxtape/store"
)

// DeadLetter returns a store.DeadLetterFunc writing each quarantined batch as one Parquet part file under
// root/<sink>/ in the store layout (root/<sink>/<dataset>/date=YYYY-MM-DD/part-….parquet), so the rows can be
// read back with ReadDataset (or DuckDB) and re-inserted once the cause is fixed. The day partition is the
// first row's. Private datasets are 0600 as everywhere.
func DeadLetter(root string, o Options) store.DeadLetterFunc {
	o.defaults()
	var mu sync.Mutex
	props := map[string]*tableProps{}
	return func(sink string, b store.Batch, cause error) (string, error) {
		if b.Table == nil || len(b.Events) == 0 {
			return "", errors.New("parquet dead letter: empty batch")
		}
		mu.Lock()
		tp := props[b.Table.Name]
		if tp == nil {
			var err error
			if tp, err = newTableProps(b.Table, o); err != nil {
				mu.Unlock()
				return "", err
			}
			props[b.Table.Name] = tp
		}
		mu.Unlock()
		first, last := b.Events[0].Hdr().Seq, b.Events[0].Hdr().Seq
		for _, e := range b.Events {
			first, last = min(first, e.Hdr().Seq), max(last, e.Hdr().Seq)
		}
		now := o.Now()
		day := dayOf(b.Events[0].Hdr().Ts)
		path := PartPath(filepath.Join(root, sink), b.Table.Name, time.UnixMilli(day*msPerDay), now, first, last)
		w := newFileWriter(tp, o.RowGroupRows)
		w.open(day, now, path+".tmp")
		for _, e := range b.Events {
			_, rowErr, writeErr := w.add(e)
			if err := errors.Join(rowErr, writeErr); err != nil {
				return "", fmt.Errorf("parquet dead letter: %w", w.abort(err))
			}
		}
		if _, err := w.finish(path); err != nil {
			return "", fmt.Errorf("parquet dead letter %s: %w", path, err)
		}
		return path, nil
	}
}
