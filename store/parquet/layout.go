package parquet

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Parquet layout (hive-partitioned, one dataset per table):
//
//	DIR/<dataset>/date=YYYY-MM-DD/part-<HHMMSS>-<firstSeq>-<lastSeq>.parquet
//
// Files are written as "<name>.tmp" and renamed when complete, so a reader never sees a partial file under
// a .parquet name. firstSeq..lastSeq is the range of arrival sequence numbers of the rows in the file: every
// event of that dataset with a seq in the range is in the file. Recovery uses it to skip spooled events that
// a completed file already holds.

// PartFile describes one completed Parquet file.
type PartFile struct {
	Path     string
	Dataset  string
	Date     string // YYYY-MM-DD
	FirstSeq uint64
	LastSeq  uint64
}

// PartPath returns the final path of a Parquet file.
func PartPath(dir, dataset string, day time.Time, opened time.Time, firstSeq, lastSeq uint64) string {
	return filepath.Join(dir, dataset, "date="+day.UTC().Format("2006-01-02"),
		fmt.Sprintf("part-%s-%d-%d.parquet", opened.UTC().Format("150405"), firstSeq, lastSeq))
}

// ParsePartPath parses a path made by PartPath.
func ParsePartPath(path string) (PartFile, error) {
	base := filepath.Base(path)
	dateDir := filepath.Base(filepath.Dir(path))
	dataset := filepath.Base(filepath.Dir(filepath.Dir(path)))
	pf := PartFile{Path: path, Dataset: dataset}
	if !strings.HasPrefix(dateDir, "date=") || !strings.HasPrefix(base, "part-") || !strings.HasSuffix(base, ".parquet") {
		return pf, fmt.Errorf("not a part file path: %s", path)
	}
	pf.Date = strings.TrimPrefix(dateDir, "date=")
	f := strings.Split(strings.TrimSuffix(strings.TrimPrefix(base, "part-"), ".parquet"), "-")
	if len(f) != 3 {
		return pf, fmt.Errorf("not a part file name: %s", base)
	}
	var err1, err2 error
	pf.FirstSeq, err1 = strconv.ParseUint(f[1], 10, 64)
	pf.LastSeq, err2 = strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return pf, fmt.Errorf("bad seq range in part file name: %s", base)
	}
	return pf, nil
}

// Glob returns the paths under dir matching the pattern elements (joined with filepath.Join). Unlike
// filepath.Glob on a joined string, dir is taken literally: a store folder named "data[1]" is not a
// pattern. The error is filepath.ErrBadPattern for a malformed pattern, wrapped with the pattern.
func Glob(dir string, pattern ...string) ([]string, error) {
	var esc strings.Builder
	for _, r := range dir {
		if strings.ContainsRune(`*?[\`, r) && filepath.Separator != '\\' {
			esc.WriteByte('\\')
		}
		esc.WriteRune(r)
	}
	p := filepath.Join(append([]string{esc.String()}, pattern...)...)
	m, err := filepath.Glob(p)
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", p, err)
	}
	return m, nil
}

// ListParts returns the completed part files of a dataset whose date partition lies in [from, to] (zero
// times mean unbounded), sorted by date then FirstSeq.
func ListParts(dir, dataset string, from, to time.Time) ([]PartFile, error) {
	if err := readable(filepath.Join(dir, dataset)); err != nil {
		return nil, err
	}
	days, err := Glob(dir, dataset, "date=*")
	if err != nil {
		return nil, err
	}
	var out []PartFile
	for _, d := range days {
		date := strings.TrimPrefix(filepath.Base(d), "date=")
		if !from.IsZero() && date < from.UTC().Format("2006-01-02") {
			continue
		}
		if !to.IsZero() && date > to.UTC().Format("2006-01-02") {
			continue
		}
		if err := readable(d); err != nil {
			return nil, err
		}
		files, err := Glob(d, "part-*.parquet")
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			pf, err := ParsePartPath(f)
			if err != nil {
				continue
			}
			out = append(out, pf)
		}
	}
	sortParts(out)
	return out, nil
}

// readable returns nil for a folder that can be listed or does not exist, else why it cannot be listed:
// filepath.Glob skips unreadable folders silently, and a dataset that cannot be read must never be skipped.
func readable(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
		if err == io.EOF {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	return nil
}
