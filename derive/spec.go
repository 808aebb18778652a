package derive

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// Interval bounds. An interval must also divide a day, so that bars and snapshots line up with midnight UTC.
const (
	MinInterval = 100 * time.Millisecond
	MaxInterval = 24 * time.Hour
	// MaxLevels is the deepest snapshot: the depth a rebuilt book keeps per side.
	MaxLevels = maxBookLevels
)

// SnapshotSpec asks for book snapshots of Levels levels per side every Interval.
type SnapshotSpec struct {
	Levels   int
	Interval time.Duration
}

func (s SnapshotSpec) String() string {
	return strconv.Itoa(s.Levels) + "@" + FormatInterval(s.Interval)
}

// Config says which datasets to derive.
type Config struct {
	Snapshots []SnapshotSpec
	Bars      []time.Duration
	// Clock is schema.ClockExchange (default when "") or schema.ClockLocal: which time decides snapshot
	// boundaries. Bars always use exchange time (their open and close are defined by it).
	Clock string
}

// Empty reports a config that derives nothing.
func (c Config) Empty() bool { return len(c.Snapshots) == 0 && len(c.Bars) == 0 }

// ParseInterval parses a Go duration ("100ms", "1s", "15m", "4h") or a number of days ("1d") and checks it
// is within [MinInterval, MaxInterval], a whole number of milliseconds, and divides a day.
func ParseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		k, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("interval %q: not a duration", s)
		}
		d = time.Duration(k) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("interval %q: not a duration (100ms, 1s, 1m, 1h, 1d)", s)
		}
	}
	switch {
	case d < MinInterval || d > MaxInterval:
		return 0, fmt.Errorf("interval %q: must be from %v to 1d", s, MinInterval)
	case d%time.Millisecond != 0:
		return 0, fmt.Errorf("interval %q: must be a whole number of milliseconds", s)
	case (24*time.Hour)%d != 0:
		return 0, fmt.Errorf("interval %q: must divide a day (e.g. 100ms, 250ms, 1s, 5s, 1m, 15m, 1h, 4h, 1d)", s)
	}
	return d, nil
}

// FormatInterval is the short form of an interval: "100ms", "1s", "1m", "1h", "1d".
func FormatInterval(d time.Duration) string {
	for _, u := range []struct {
		d   time.Duration
		suf string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d >= u.d && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.suf
		}
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// ParseSnapshots parses "LEVELS@INTERVAL[,LEVELS@INTERVAL…]", e.g. "5@1s,25@100ms". Duplicates are errors.
func ParseSnapshots(s string) ([]SnapshotSpec, error) {
	var out []SnapshotSpec
	seen := map[SnapshotSpec]bool{}
	for _, f := range schema.SplitList(s) {
		lv, iv, ok := strings.Cut(f, "@")
		if !ok {
			return nil, fmt.Errorf("book snapshots %q: want LEVELS@INTERVAL, e.g. 5@1s", f)
		}
		n, err := strconv.Atoi(strings.TrimSpace(lv))
		if err != nil || n < 1 || n > MaxLevels {
			return nil, fmt.Errorf("book snapshots %q: levels must be 1 to %d", f, MaxLevels)
		}
		d, err := ParseInterval(iv)
		if err != nil {
			return nil, fmt.Errorf("book snapshots %q: %w", f, err)
		}
		sp := SnapshotSpec{Levels: n, Interval: d}
		if seen[sp] {
			return nil, fmt.Errorf("book snapshots %q: given twice", f)
		}
		seen[sp] = true
		out = append(out, sp)
	}
	return out, nil
}

// ParseBars parses "INTERVAL[,INTERVAL…]", e.g. "1s,1m". Duplicates are errors.
func ParseBars(s string) ([]time.Duration, error) {
	var out []time.Duration
	seen := map[time.Duration]bool{}
	for _, f := range schema.SplitList(s) {
		d, err := ParseInterval(f)
		if err != nil {
			return nil, fmt.Errorf("trade bars: %w", err)
		}
		if seen[d] {
			return nil, fmt.Errorf("trade bars %q: given twice", f)
		}
		seen[d] = true
		out = append(out, d)
	}
	return out, nil
}

// ParseClock accepts "exchange" (or "") and "local".
func ParseClock(s string) (string, error) {
	switch strings.TrimSpace(s) {
	case "", schema.ClockExchange:
		return schema.ClockExchange, nil
	case schema.ClockLocal:
		return schema.ClockLocal, nil
	}
	return "", fmt.Errorf("clock %q: want exchange or local", s)
}

// ParseSpec parses record's one-flag form: space-separated book-snapshots=…, trade-bars=… and clock=…
// terms, e.g. "book-snapshots=5@1s,25@100ms trade-bars=1s,1m clock=exchange".
func ParseSpec(s string) (Config, error) {
	var c Config
	var err error
	for _, term := range strings.Fields(s) {
		k, v, ok := strings.Cut(term, "=")
		if !ok {
			return c, fmt.Errorf("derive %q: want book-snapshots=…, trade-bars=… or clock=…", term)
		}
		switch k {
		case "book-snapshots":
			c.Snapshots, err = ParseSnapshots(v)
		case "trade-bars":
			c.Bars, err = ParseBars(v)
		case "clock":
			c.Clock, err = ParseClock(v)
		default:
			err = fmt.Errorf("derive %q: unknown term %q (book-snapshots, trade-bars, clock)", term, k)
		}
		if err != nil {
			return c, err
		}
	}
	if c.Empty() {
		return c, fmt.Errorf("derive %q: nothing to derive (give book-snapshots=… and/or trade-bars=…)", s)
	}
	return c, nil
}
