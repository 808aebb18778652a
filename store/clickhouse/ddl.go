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

// DDL returns the CREATE TABLE IF NOT EXISTS statement of table t in database db on a single server of
// version v. It is a pure function of its arguments.
//
// Every server: times stay Unix epoch Int64 (TimeMs in ms, TimeNs in ns; the same numbers as the schema), floats
// Float64 (NaN for OKX's ""), strings String, Bool UInt8, lists Array(Float64)/Array(Int64); engine
// ReplacingMergeTree(seq) ordered by the table's event key (schema.Table.Key: what the exchange says identifies
// the event) and partitioned by the UTC day of ts. Copies of one event (a retried batch, a re-inserted spool, a
// second recorder of the same feed) share the key and collapse on merge to the copy with the largest seq;
// SELECT ... FINAL never counts one twice.
//
// Modern servers (v.Modern()) additionally get LowCardinality(String) for dictionary columns, codecs
// (DoubleDelta for times, Delta for sequence numbers, Gorilla for slowly moving floats, ZSTD after each) and
// one DateTime64 ALIAS column per time column (ts_time, recv_time, from_time, funding_time_dt ...; see
// AliasName). Older servers (18.16 is what Debian ships) get plain types: LowCardinality is
// experimental there and codecs, DateTime64 and the conversion functions do not exist.
func DDL(db string, t *schema.Table, v ServerVersion) string {
	return createTable(db, t.Name, "", columnDefs(t, v.Modern(), true, true),
		"ReplacingMergeTree("+quoteIdent("seq")+")", mergeTreeClauses(t))
}

// Layout is where the tables live: one server (Cluster empty) or a ClickHouse cluster.
type Layout struct {
	// Cluster names the cluster of the servers' remote_servers config; the DDL runs ON CLUSTER.
	Cluster string
	// ZKPath is the replication path template of the local tables: {db} and {table} are replaced by the
	// database and the local table's name, other {macros} ({shard}) are the servers' [DefaultZKPath].
	ZKPath string
	// Replica is the replica name template [{replica}].
	Replica string
}

// DefaultZKPath is the replication path template of cluster mode.
const DefaultZKPath = "/clickhouse/tables/{shard}/{db}/{table}"

// LocalSuffix ends the names of the per-server tables of cluster mode.
const LocalSuffix = "_local"

// ClusterDDL returns the statements that create table t in cluster mode, in order: the per-server table
// <name>_local ON CLUSTER, a ReplicatedReplacingMergeTree(path, replica, seq) with the same columns, key and
// partitions as DDL, and the table <name> ON CLUSTER, a Distributed(cluster, db, <name>_local,
// cityHash64(inst_id)) over it that inserts and reads go through. inst_id is part of every key, so all copies
// of an event land on one shard and FINAL through the Distributed table deduplicates them there.
func ClusterDDL(db string, t *schema.Table, v ServerVersion, l Layout) []string {
	modern := v.Modern()
	local := t.Name + LocalSuffix
	path := l.ZKPath
	if path == "" {
		path = DefaultZKPath
	}
	path = strings.NewReplacer("{db}", db, "{table}", local).Replace(path)
	replica := l.Replica
	if replica == "" {
		replica = "{replica}"
	}
	engine := fmt.Sprintf("ReplicatedReplacingMergeTree(%s, %s, %s)", quoteString(path), quoteString(replica), quoteIdent("seq"))
	dist := fmt.Sprintf("Distributed(%s, %s, %s, cityHash64(%s))", quoteIdent(l.Cluster), quoteIdent(db),
		quoteIdent(local), quoteIdent("inst_id"))
	return []string{
		createTable(db, local, l.Cluster, columnDefs(t, modern, true, modern), engine, mergeTreeClauses(t)),
		createTable(db, t.Name, l.Cluster, columnDefs(t, modern, false, modern), dist, ""),
	}
}

// CreateDatabase returns the CREATE DATABASE statement (ON CLUSTER when l names one).
func CreateDatabase(db string, l Layout) string {
	return "CREATE DATABASE IF NOT EXISTS " + quoteIdent(db) + onCluster(l.Cluster)
}

func onCluster(cluster string) string {
	if cluster == "" {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(cluster)
}

func createTable(db, name, cluster string, defs []string, engine, clauses string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s%s\n(\n", quoteIdent(db), quoteIdent(name), onCluster(cluster))
	b.WriteString(strings.Join(defs, ",\n"))
	b.WriteString("\n)\nENGINE = " + engine)
	if clauses != "" {
		b.WriteString("\n" + clauses)
	}
	return b.String()
}

// mergeTreeClauses are the partition and sorting clauses: UTC day of ts, and the event key.
func mergeTreeClauses(t *schema.Table) string {
	key := make([]string, len(t.Key))
	for i, k := range t.Key {
		key[i] = quoteIdent(k)
	}
	return "PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))\nORDER BY (" + strings.Join(key, ", ") + ")"
}

// columnDefs are the column definitions of t; codecs only for stored (MergeTree) tables of modern servers.
// Comments are left out of 18.16's replicated tables: it compares the column list in ZooKeeper without them and
// refuses the second replica ("Table structure in ZooKeeper is too different").
func columnDefs(t *schema.Table, modern, codecs, comments bool) []string {
	var defs []string
	for _, c := range t.Columns {
		d := "    " + quoteIdent(c.Name) + " " + chType(c, modern)
		if c.Doc != "" && comments {
			d += " COMMENT " + quoteString(c.Doc)
		}
		if modern && codecs {
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
	return defs
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
