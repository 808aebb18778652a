package replay

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/store/parquet"
)

// TestParquetSourceSurfacesCorruptFiles: a damaged file is an error from the source (naming the file), never
// a silently shorter replay: truncated (no footer), or with its data pages overwritten (footer intact).
func TestParquetSourceSurfacesCorruptFiles(t *testing.T) {
	for _, damage := range []string{"truncated", "pages"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			writeStore(t, dir, parquet.Options{}, randomEvents(1, 2000, []string{"BTC-USDT", "ETH-USDT"}))
			files, err := filepath.Glob(filepath.Join(dir, "tickers", "*", "*.parquet"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no tickers file: %v", err)
			}
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "truncated":
				b = b[:len(b)/2]
			case "pages":
				for i := 4; i < len(b)/2; i++ { // after the magic, before the footer
					b[i] = 0xA5
				}
			}
			if err := os.WriteFile(files[0], b, 0o644); err != nil {
				t.Fatal(err)
			}
			src := NewParquetSource(dir)
			parts, err := src.Parts(context.Background(), schema.TableOf(schema.KindTicker), store.Query{})
			if err == nil {
				for _, p := range parts {
					if err = p.Read(context.Background(), func(schema.Stored) error { return nil }); err != nil {
						break
					}
				}
			}
			if err == nil {
				t.Fatal("a damaged file was read without an error")
			}
			if !strings.Contains(err.Error(), filepath.Base(files[0])) {
				t.Fatalf("the error does not name the file: %v", err)
			}
		})
	}
}
