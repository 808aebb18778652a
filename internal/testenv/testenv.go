// Package testenv holds what every package's tests share about their environment: a missing external
// requirement (ClickHouse, DuckDB, the shared OKX fixtures) skips a test unless CI requires it
// (OKXTAPE_REQUIRE_*=1), and polling helpers wait for a condition instead of sleeping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// A Requirement is an external dependency of some tests, named by the environment variable that makes it
// mandatory.
type Requirement struct {
	Name    string // what is missing, for messages: "ClickHouse"
	Env     string // "OKXTAPE_REQUIRE_CLICKHOUSE"
	Install string // how to get it: "scripts/clickhouse-start.sh"
}

// The requirements CI sets.
var (
	ClickHouse = Requirement{"ClickHouse", "OKXTAPE_REQUIRE_CLICKHOUSE", "scripts/clickhouse-start.sh"}
	DuckDB     = Requirement{"DuckDB", "OKXTAPE_REQUIRE_DUCKDB", "scripts/duckdb-install.sh"}
	Fixtures   = Requirement{"the OKX fixtures", "OKXTAPE_REQUIRE_FIXTURES", "../shared/fixtures/okx or OKXTAPE_FIXTURES"}
	Cluster    = Requirement{"the local ClickHouse cluster", "OKXTAPE_REQUIRE_CLUSTER", "scripts/clickhouse-cluster.sh start"}
	ChDB       = Requirement{"chDB", "OKXTAPE_REQUIRE_CHDB", "scripts/chdb-install.sh"}
)

// Required reports whether the environment makes r mandatory.
func (r Requirement) Required() bool { return os.Getenv(r.Env) == "1" }

// Missing ends the test because r is unavailable (why says how): it fails when r is required, else skips.
func (r Requirement) Missing(tb testing.TB, why error) {
	tb.Helper()
	if r.Required() {
		tb.Fatalf("%s is required (%s=1) but unavailable: %v (see %s)", r.Name, r.Env, why, r.Install)
	}
	tb.Skipf("%s unavailable (%s): %v", r.Name, r.Install, why)
}

// Check calls Missing when err is not nil.
func (r Requirement) Check(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		r.Missing(tb, err)
	}
}

// RepoRoot returns the repository root (the folder holding go.mod), found upward from the working
// directory of the test.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			tb.Fatalf("no go.mod above %s", dir)
		}
	}
}

// DuckDBScript returns the path of scripts/duckdb/query.mjs (node + @duckdb/node-api), or ends the test
// per DuckDB's requirement when DuckDB is not installed.
func DuckDBScript(tb testing.TB) string {
	tb.Helper()
	script := filepath.Join(RepoRoot(tb), "scripts", "duckdb", "query.mjs")
	_, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "@duckdb", "node-api", "package.json"))
	DuckDB.Check(tb, err)
	return script
}

// FixtureDir returns the shared OKX fixture folder (OKXTAPE_FIXTURES, default ../shared/fixtures/okx beside
// the repository), or ends the test per the fixtures' requirement when it is missing.
func FixtureDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("OKXTAPE_FIXTURES")
	if dir == "" {
		dir = filepath.Join(RepoRoot(tb), "..", "shared", "fixtures", "okx")
	}
	_, err := os.Stat(filepath.Join(dir, "README.md"))
	Fixtures.Check(tb, err)
	return dir
}

// ClickHouseURL is the test server's base DSN: OKXTAPE_TEST_CLICKHOUSE, default clickhouse://127.0.0.1:9000.
func ClickHouseURL() string {
	if u := os.Getenv("OKXTAPE_TEST_CLICKHOUSE"); u != "" {
		return u
	}
	return "clickhouse://127.0.0.1:9000"
}

// ClickHouseDB names a database of the test's own (okxtape_test_<random>, or <path of the base DSN>_<random>)
// on the test server and returns a DSN naming it and an admin connection (no database selected); the
// database is not created (sinks create theirs) but is dropped when the test ends. Without a reachable
// server the test ends per ClickHouse's requirement.
func ClickHouseDB(tb testing.TB) (dsn string, admin driver.Conn) {
	tb.Helper()
	base := ClickHouseURL()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("OKXTAPE_TEST_CLICKHOUSE %q: %v", base, err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix == "" || prefix == "default" {
		prefix = "okxtape_test"
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	db := prefix + "_" + hex.EncodeToString(rnd[:])
	u.Path = ""
	opts, err := chgo.ParseDSN(u.String())
	if err != nil {
		tb.Fatalf("OKXTAPE_TEST_CLICKHOUSE %q: %v", base, err)
	}
	opts.DialTimeout = 2 * time.Second
	admin, err = chgo.Open(opts)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = admin.Ping(ctx)
		cancel()
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		ClickHouse.Missing(tb, fmt.Errorf("no server at %s: %w", u.Host, err))
	}
	tb.Cleanup(func() {
		if err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`"); err != nil {
			tb.Errorf("drop test database %s: %v", db, err)
		}
		admin.Close()
	})
	u.Path = "/" + db
	return u.String(), admin
}
