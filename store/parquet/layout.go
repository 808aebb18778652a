package parquet

import (
	"errors"
	"fmt"
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

// ListParts returns the completed part files of a dataset whose date partition lies in [from, to] (zero
// times mean unbounded), sorted by date then FirstSeq.
func ListParts(dir, dataset string, from, to time.Time) ([]PartFile, error) {
	days, err := dirNames(filepath.Join(dir, dataset), "date=", "")
	if err != nil {
		return nil, err
	}
	var out []PartFile
	for _, name := range days {
		date := strings.TrimPrefix(name, "date=")
		if !from.IsZero() && date < from.UTC().Format("2006-01-02") {
			continue
		}
		if !to.IsZero() && date > to.UTC().Format("2006-01-02") {
			continue
		}
		d := filepath.Join(dir, dataset, name)
		files, err := dirNames(d, "part-", ".parquet")
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			pf, err := ParsePartPath(filepath.Join(d, f))
			if err != nil {
				continue
			}
			out = append(out, pf)
		}
	}
	sortParts(out)
	return out, nil
}

// dirNames lists the entries of dir named prefix…suffix. A missing dir has none; an unreadable one is an
// error (a dataset that cannot be read is never silently skipped).
func dirNames(dir, prefix, suffix string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, prefix) && strings.HasSuffix(n, suffix) {
			out = append(out, n)
		}
	}
	return out, nil
}
