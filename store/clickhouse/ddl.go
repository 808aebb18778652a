package clickhouse

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/okxtape/okxtape/schema"
)

// ServerVersion is a ClickHouse server version as reported by SELECT version() ("18.16.1", "24.8.4.13").
type ServerVersion struct {
	Major, Minor, Patch int
}

// ParseServerVersion parses the leading "major.minor[.patch[.build]]" of a version string.
func ParseServerVersion(s string) (ServerVersion, error) {
	var v ServerVersion
	f := strings.Split(strings.TrimSpace(s), ".")
	if len(f) < 2 {
		return v, fmt.Errorf("clickhouse: cannot parse server version %q", s)
	}
	dst := []*int{&v.Major, &v.Minor, &v.Patch}
	for i := 0; i < len(f) && i < len(dst); i++ {
		// Tolerate suffixes such as "1-stable" on the last field we read.
		digits := f[i]
		if j := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
			digits = digits[:j]
		}
		n, err := strconv.Atoi(digits)
		if err != nil || (i < 2 && digits != f[i]) {
			return ServerVersion{}, fmt.Errorf("clickhouse: cannot parse server version %q", s)
		}
		*dst[i] = n
	}
	return v, nil
}

func (v ServerVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v >= major.minor.
func (v ServerVersion) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Modern reports whether the server gets the modern DDL: LowCardinality, column codecs and DateTime64 alias
// columns. 20.5 is the first release with all of them (fromUnixTimestamp64Milli/Nano appeared in 20.5).
func (v ServerVersion) Modern() bool { return v.AtLeast(20, 5) }

// DDL returns the CREATE TABLE IF NOT EXISTS statement of table t in database db for a server of
// version v. It is a pure function of its arguments.
//
// Every server: times stay Unix epoch Int64 (TimeMs in ms, TimeNs in ns; the same numbers as the schema), floats
// Float64 (NaN for OKX's ""), strings String, Bool UInt8, lists Array(Float64)/Array(Int64); engine
// ReplacingMergeTree() ordered by (inst_id, ts, seq) and partitioned by the UTC day of ts. seq is unique per
// event, so a retried batch or a re-inserted spool collapses to one row on merge and SELECT ... FINAL never
// double counts.
//
// Modern servers (v.Modern()) additionally get LowCardinality(String) for dictionary columns, codecs
// (DoubleDelta for times, Delta for sequence numbers, Gorilla for slowly moving floats, ZSTD after each) and
// one DateTime64 ALIAS column per time column (ts_time, recv_time, from_time, funding_time_dt ...; see
// AliasName). Older servers (18.16 is what Debian ships) get plain types: LowCardinality is
// experimental there and codecs, DateTime64 and the conversion functions do not exist.
func DDL(db string, t *schema.Table, v ServerVersion) string {
	modern := v.Modern()
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s\n(\n", quoteIdent(db), quoteIdent(t.Name))
	var defs []string
	for _, c := range t.Columns {
		d := "    " + quoteIdent(c.Name) + " " + chType(c, modern)
		if c.Doc != "" {
			d += " COMMENT " + quoteString(c.Doc)
		}
		if modern {
			if codec := chCodec(c); codec != "" {
				d += " CODEC(" + codec + ")"
			}
		}
		defs = append(defs, d)
	}
	if modern {
		for _, c := range t.Columns {
			switch c.Type {
			case schema.TimeMs:
				defs = append(defs, fmt.Sprintf("    %s DateTime64(3, 'UTC') ALIAS fromUnixTimestamp64Milli(%s, 'UTC')",
					quoteIdent(AliasName(c.Name)), quoteIdent(c.Name)))
			case schema.TimeNs:
				defs = append(defs, fmt.Sprintf("    %s DateTime64(9, 'UTC') ALIAS fromUnixTimestamp64Nano(%s, 'UTC')",
					quoteIdent(AliasName(c.Name)), quoteIdent(c.Name)))
			}
		}
	}
	b.WriteString(strings.Join(defs, ",\n"))
	b.WriteString("\n)\nENGINE = ReplacingMergeTree()\n")
	b.WriteString("PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))\n")
	b.WriteString("ORDER BY (inst_id, ts, seq)")
	return b.String()
}

// AliasName names the DateTime64 alias column of a time column on modern servers: a _ms/_ns suffix
// becomes _time (from_ms → from_time, recv_ns → recv_time), ts becomes ts_time, and a name that already ends in
// "time" gets _dt (funding_time → funding_time_dt).
func AliasName(col string) string {
	switch {
	case strings.HasSuffix(col, "_ms"), strings.HasSuffix(col, "_ns"):
		return col[:len(col)-3] + "_time"
	case strings.HasSuffix(col, "time"):
		return col + "_dt"
	}
	return col + "_time"
}

func chType(c schema.Column, modern bool) string {
	switch c.Type {
	case schema.Int64, schema.TimeMs, schema.TimeNs:
		return "Int64"
	case schema.Float64:
		return "Float64"
	case schema.String:
		if c.Dict && modern {
			return "LowCardinality(String)"
		}
		return "String"
	case schema.Bool:
		return "UInt8"
	case schema.Float64List:
		return "Array(Float64)"
	case schema.Int64List:
		return "Array(Int64)"
	}
	panic("store: unknown column type " + c.Type.String())
}

// chCodec picks a column codec for modern servers ("" = server default, LZ4).
func chCodec(c schema.Column) string {
	switch c.Type {
	case schema.TimeMs, schema.TimeNs:
		// Sorted by (inst_id, ts): times move in small, regular steps; constant ones (funding_time) cost nothing.
		return "DoubleDelta, ZSTD(1)"
	case schema.Int64:
		if c.Name == "seq" || strings.HasSuffix(c.Name, "seq_id") || c.Name == "trade_id" {
			return "Delta, ZSTD(1)"
		}
		return "ZSTD(1)"
	case schema.Float64:
		// Gorilla suits prices and running totals that move slowly; sizes jump around, so they get ZSTD only.
		if strings.HasSuffix(c.Name, "sz") {
			return "ZSTD(1)"
		}
		return "Gorilla, ZSTD(1)"
	case schema.String:
		if c.Dict {
			return "" // LowCardinality already dictionary-encodes
		}
		return "ZSTD(1)"
	case schema.Float64List, schema.Int64List:
		return "ZSTD(1)"
	}
	return ""
}

// quoteIdent backquotes a ClickHouse identifier.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

// quoteString makes a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(s) + "'"
}
