package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/schema"
)

const (
	testKey        = "e2e-key-4f1c"
	testSecret     = "E2ESECRET9D2A7C1B00FF"
	testPassphrase = "pass-phrase-Zq81"
)

// TestPrivateChannelsAndSecrets records a logged-in account's orders, fills, balances and positions beside
// market data, replays them, and proves that neither the secret nor the passphrase appears anywhere a run
// leaves a trace: stdout, stderr, /metrics, every stored file and every stored value.
func TestPrivateChannelsAndSecrets(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "10", "--api-key", testKey, "--api-secret", testSecret, "--passphrase", testPassphrase)
	metricsPort := freePort(t)
	env := []string{"OKX_API_KEY=" + testKey, "OKX_API_SECRET=" + testSecret, "OKX_API_PASSPHRASE=" + testPassphrase}
	rec := start(t, env, "record", "--ws-url", s.ws(), "--rest-url", s.rest(),
		"--channels", "orders,fills,account,positions,tickers", "--inst-type", "ANY", "--inst", "BTC-USDT-SWAP",
		"--out", out, "--metrics-addr", "127.0.0.1:"+itoa(metricsPort), "--strategy", "print,digest", "--log-level", "debug")
	// The private channels have pushed (as the simulated account trades) and the sinks
	// have flushed; then /metrics has every family the dashboard charts.
	s.waitSent(t, 2, "orders", "account", "positions", "tickers")
	metricsURL := "http://127.0.0.1:" + itoa(metricsPort) + "/metrics"
	families := []string{"okxtape_frames_total", "okxtape_events_total", "okxtape_exchange_lag_seconds_bucket",
		"okxtape_handoff_queue_bytes", "okxtape_spool_bytes", "okxtape_sink_rows_total", "okxtape_sink_flush_seconds_bucket"}
	waitMetrics(t, metricsURL, fmt.Sprintf("families %v", families), func(m map[string]float64) bool {
		for _, f := range families {
			found := false
			for name := range m {
				found = found || strings.HasPrefix(name, f)
			}
			if !found {
				return false
			}
		}
		return true
	})
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body) // searched for secrets below
	resp.Body.Close()
	sent := s.finish()
	waitDrained(t, metricsURL, sent, "tickers", "orders", "fills", "positions")
	live := rec.end(0)

	counts := map[string]int{}
	var values bytes.Buffer
	for _, tab := range schema.Tables() {
		err := parquet.ReadDataset(out, tab.Name, time.Time{}, time.Time{}, func(e schema.Stored) error {
			counts[tab.Name]++
			values.WriteString(strings.Join(stringsOf(e), "|"))
			return nil
		})
		if err != nil {
			t.Fatalf("reading %s: %v", tab.Name, err)
		}
	}
	for _, ds := range []string{"orders", "balances", "positions", "tickers"} {
		if counts[ds] == 0 {
			t.Errorf("no %s recorded (counts %v)", ds, counts)
		}
	}

	replayed, rep := replayDigest(t, out)
	requireParity(t, "private channels", live, replayed)

	traces := map[string][]byte{
		"record stdout": rec.stdout.Bytes(), "record stderr": rec.stderr.Bytes(), "metrics": metrics,
		"stored values": values.Bytes(), "replay stdout": rep.stdout.Bytes(), "replay stderr": rep.stderr.Bytes(),
	}
	filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			traces[p] = b
		}
		return nil
	})
	if !bytes.Contains(rec.stderr.Bytes(), []byte("login")) {
		t.Log("note: no login line in the debug log")
	}
	for where, b := range traces {
		for _, secret := range []string{testSecret, testPassphrase} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("a secret leaked into %s", where)
			}
		}
	}
}

// TestLoginRejected: a wrong secret is reported with OKX's code and a sentence, and record exits non-zero.
func TestLoginRejected(t *testing.T) {
	s := startSim(t, "--instruments", "1", "--api-key", testKey, "--api-secret", testSecret, "--passphrase", testPassphrase)
	env := []string{"OKX_API_KEY=" + testKey, "OKX_API_SECRET=wrong-" + testSecret, "OKX_API_PASSPHRASE=" + testPassphrase}
	rec := start(t, env, "record", "--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "orders",
		"--inst-type", "ANY", "--out", t.TempDir(), "--connect-timeout", "10s", "--log-level", "warn")
	rec.wait(60 * time.Second)
	if rec.exitCode() == 0 {
		t.Fatal("record exited 0 although login was rejected")
	}
	errText := rec.stderr.String()
	if !strings.Contains(errText, "60007") {
		t.Errorf("stderr does not name OKX's code 60007:\n%s", tail(errText, 1500))
	}
	if strings.Contains(errText, testSecret) || strings.Contains(errText, testPassphrase) {
		t.Error("stderr contains a secret")
	}
}

// stringsOf returns every string value of a stored row.
func stringsOf(e schema.Stored) []string {
	var w strCollector
	e.WriteRow(&w)
	return w.s
}

type strCollector struct{ s []string }

func (c *strCollector) Int64(int64)        {}
func (c *strCollector) Float64(float64)    {}
func (c *strCollector) String(v string)    { c.s = append(c.s, v) }
func (c *strCollector) Bool(bool)          {}
func (c *strCollector) Float64s([]float64) {}
func (c *strCollector) Int64s([]int64)     {}
