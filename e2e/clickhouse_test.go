package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
)

const clickhouseServer = "/usr/sbin/clickhouse-server"

// chServer is a private clickhouse-server (Debian's package binary) on its own ports and data folder, so a
// test can stop and restart it without touching the server other packages' tests use.
type chServer struct {
	t          *testing.T
	dir        string
	tcp, httpP int
	cmd        *exec.Cmd
}

// newCHServer starts a private server; without the binary, or without root (its data folder and the
// packaged config need it here), the test ends per ClickHouse's requirement: skipped, or failed in CI.
func newCHServer(t *testing.T) *chServer {
	_, err := os.Stat(clickhouseServer)
	testenv.ClickHouse.Check(t, err)
	if os.Geteuid() != 0 {
		testenv.ClickHouse.Missing(t, errors.New("a private clickhouse-server needs root here"))
	}
	s := &chServer{t: t, dir: t.TempDir(), tcp: freePort(t), httpP: freePort(t)}
	s.start()
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *chServer) start() {
	s.t.Helper()
	d := s.dir
	s.cmd = exec.Command(clickhouseServer, "--config-file=/etc/clickhouse-server/config.xml", "--",
		"--path="+d+"/", "--tmp_path="+d+"/tmp/", "--user_files_path="+d+"/user_files/",
		"--format_schema_path="+d+"/format_schemas/", "--tcp_port="+strconv.Itoa(s.tcp),
		"--http_port="+strconv.Itoa(s.httpP), "--interserver_http_port="+strconv.Itoa(freePort(s.t)),
		"--logger.log="+d+"/server.log", "--logger.errorlog="+d+"/server.err.log", "--logger.console=0")
	s.cmd.Dir = d
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting clickhouse-server: %v", err)
	}
	if !testenv.WaitFor(60*time.Second, func() bool { _, err := s.query("SELECT 1"); return err == nil }) {
		b, _ := os.ReadFile(filepath.Join(d, "server.err.log"))
		s.t.Fatalf("clickhouse-server did not come up:\n%s", tail(string(b), 2000))
	}
}

func (s *chServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func (s *chServer) dsn(db string) string {
	return fmt.Sprintf("clickhouse://127.0.0.1:%d/%s", s.tcp, db)
}

func (s *chServer) query(q string) (string, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/?query=%s", s.httpP, url.QueryEscape(q)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("clickhouse: %s: %s", resp.Status, b)
	}
	return string(b), nil
}

func (s *chServer) count(q string) uint64 {
	s.t.Helper()
	out, err := s.query(q)
	if err != nil {
		s.t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	if err != nil {
		s.t.Fatalf("%s: %q", q, out)
	}
	return n
}

// TestClickHouseOutageLosesNothing records into ClickHouse (and Parquet), stops the server mid-recording,
// restarts it, and finds every item the simulator sent, exactly once, in both stores.
func TestClickHouseOutageLosesNothing(t *testing.T) {
	ch := newCHServer(t)
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "20")
	mflag, metrics := metricsFlag(t)
	rec := start(t, nil, "record", append([]string{"--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "tickers,trades",
		"--inst", "BTC-USDT,ETH-USDT", "--out", out, "--clickhouse", ch.dsn("okx"), "--flush-interval", "200ms",
		"--log-level", "warn"}, mflag...)...)
	rows := func(m map[string]float64) float64 {
		return m[`okxtape_sink_rows_total{dataset="tickers",sink="clickhouse"}`]
	}
	waitMetrics(t, metrics, "rows in ClickHouse before the outage", func(m map[string]float64) bool { return rows(m) > 0 })
	ch.stop()
	// Batches pile up in the spool and are retried with backoff: wait for failed writes and retries.
	waitMetrics(t, metrics, "ClickHouse sink errors and retries", func(m map[string]float64) bool {
		return m[`okxtape_sink_errors_total{sink="clickhouse"}`] > 0 && m[`okxtape_sink_retries_total{sink="clickhouse"}`] > 1
	})
	before := rows(scrape(t, metrics)) // up by now: waitMetrics saw it
	ch.start()
	waitMetrics(t, metrics, "ClickHouse accepting rows again", func(m map[string]float64) bool { return rows(m) > before })
	sent := s.finish()
	waitDrained(t, metrics, sent)
	rec.stop(syscall.SIGTERM, 90*time.Second)
	if rec.exitCode() != 0 {
		t.Fatalf("record exit %d", rec.exitCode())
	}
	for _, ds := range []string{"tickers", "trades"} {
		got := ch.count("SELECT count() FROM okx." + ds + " FINAL")
		if got != sent.Items[ds] {
			t.Errorf("ClickHouse %s: simulator sent %d, stored %d", ds, sent.Items[ds], got)
		}
		if pq := storedRows(t, out, ds, "")[ds]; pq != sent.Items[ds] {
			t.Errorf("Parquet %s: simulator sent %d, stored %d", ds, sent.Items[ds], pq)
		}
	}
	if n := ch.count("SELECT count() FROM okx.sessions FINAL"); n != 2 {
		t.Errorf("sessions in ClickHouse: %d, want 2", n)
	}
}
