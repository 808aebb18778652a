package clickhouse

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
)

type chdbStmt struct {
	SQL  string `json:"sql"`
	Mode string `json:"mode"` // exec or parse
}

type chdbResult struct {
	OK    bool   `json:"ok"`
	Out   string `json:"out"`
	Error string `json:"error"`
}

// runChDB runs statements in a fresh embedded modern ClickHouse (scripts/chdb-install.sh). Without it the test is
// skipped, or fails when OKXTAPE_REQUIRE_CHDB=1 (CI).
func runChDB(t *testing.T, stmts []chdbStmt) []chdbResult {
	t.Helper()
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "chdb", "ddlcheck.mjs")
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "chdb", "package.json")); err != nil {
		testenv.ChDB.Missing(t, err)
	}
	in, _ := json.Marshal(stmts)
	cmd := exec.Command("node", script)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chdb: %v\n%s", err, out)
	}
	var res []chdbResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(stmts) {
		t.Fatalf("chdb output (%v): %s", err, out)
	}
	return res
}

var (
	chdbOnCluster  = regexp.MustCompile(" ON CLUSTER `[^`]*`")
	chdbReplicated = regexp.MustCompile(`ENGINE = ReplicatedReplacingMergeTree\('[^']*', '[^']*', ` + "`seq`" + `\)`)
	chdbDistEngine = regexp.MustCompile(`ENGINE = Distributed\(.*\)$`)
)

// TestClickHouseModernDDLInChDB runs the modern DDL of every table in ClickHouse 26 (chDB): the single-server
// statements as they are; the cluster statements parsed as they are, and executed with what needs a real cluster
// swapped out (ON CLUSTER dropped, the replicated engine made local, the Distributed engine made Memory), which
// checks every column definition, codec, alias and key of the cluster text. A row inserted into trades reads
// back through its DateTime64 alias with FINAL.
func TestClickHouseModernDDLInChDB(t *testing.T) {
	v := ServerVersion{Major: 26, Minor: 7}
	stmts := []chdbStmt{{SQL: "CREATE DATABASE okx", Mode: "exec"}}
	for _, tab := range schema.Tables() {
		stmts = append(stmts, chdbStmt{SQL: DDL("okx", tab, v), Mode: "exec"})
		for _, q := range ClusterDDL("okx", tab, v, Layout{Cluster: "prod"}) {
			stmts = append(stmts, chdbStmt{SQL: q, Mode: "parse"})
			local := chdbOnCluster.ReplaceAllString(q, "")
			local = chdbReplicated.ReplaceAllString(local, "ENGINE = ReplacingMergeTree(`seq`)")
			local = chdbDistEngine.ReplaceAllString(local, "ENGINE = Memory")
			local = strings.Replace(local, "`okx`.`"+tab.Name, "`okx`.`cluster_"+tab.Name, 1)
			stmts = append(stmts, chdbStmt{SQL: local, Mode: "exec"})
		}
	}
	stmts = append(stmts,
		chdbStmt{SQL: "INSERT INTO okx.trades (seq, recv_ns, channel, inst_id, ts, trade_id) VALUES " +
			"(1, 1704153600123000000, 'trades', 'BTC-USDT', 1704153600123, 7), (2, 1704153600124000000, 'trades', 'BTC-USDT', 1704153600123, 7)", Mode: "exec"},
		chdbStmt{SQL: "SELECT count(), toString(any(ts_time)), any(seq) FROM okx.trades FINAL", Mode: "exec"})
	res := runChDB(t, stmts)
	for i, r := range res {
		if !r.OK {
			t.Errorf("chDB refused:\n%s\n%s", stmts[i].SQL, r.Error)
		}
	}
	if got := strings.TrimSpace(res[len(res)-1].Out); got != "1\t2024-01-02 00:00:00.123\t2" {
		t.Errorf("trades FINAL through the alias: %q, want one row (the larger seq) at 2024-01-02 00:00:00.123", got)
	}
}
