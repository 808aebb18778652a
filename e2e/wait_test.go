package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
)

// The e2e tests wait for conditions, not for fixed times: "the simulator has sent enough", "record has
// decoded everything sent". The timeouts only bound a hang.
const waitLimit = 60 * time.Second

// sentSoFar returns what the running simulator has sent so far (its GET /stats).
func (s *sim) sentSoFar() (simStats, error) {
	var st simStats
	resp, err := http.Get("http://" + s.addr + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitSent waits until the running simulator has sent at least n items of each channel.
func (s *sim) waitSent(t *testing.T, n uint64, channels ...string) {
	t.Helper()
	var last simStats
	ok := testenv.WaitFor(waitLimit, func() bool {
		st, err := s.sentSoFar()
		if err != nil {
			return false
		}
		last = st
		for _, ch := range channels {
			if st.Items[ch] < n {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("the simulator did not send %d items of each of %v within %s (sent %v)", n, channels, waitLimit, last.Items)
	}
}

// metricsFlag returns record's --metrics-addr arguments on a free port, and the /metrics URL.
func metricsFlag(t *testing.T) (args []string, url string) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	return []string{"--metrics-addr", addr}, "http://" + addr + "/metrics"
}

// waitMetrics waits until cond holds for record's /metrics at url (series name with labels -> value).
func waitMetrics(t *testing.T, url, what string, cond func(m map[string]float64) bool) {
	t.Helper()
	if !testenv.WaitFor(waitLimit, func() bool { m, err := tryScrape(url); return err == nil && cond(m) }) {
		t.Fatalf("/metrics: not within %s: %s", waitLimit, what)
	}
}

// waitDrained waits until record (metrics at url) has decoded every item the stopped simulator sent on the
// given channels (all when none given), per okxtape_events_total: nothing is still on the wire when record is
// stopped.
func waitDrained(t *testing.T, url string, sent simStats, channels ...string) {
	t.Helper()
	if len(channels) == 0 {
		for ch := range sent.Items {
			channels = append(channels, ch)
		}
	}
	var missing string
	ok := testenv.WaitFor(waitLimit, func() bool {
		m, err := tryScrape(url)
		if err != nil {
			missing = err.Error()
			return false
		}
		for _, ch := range channels {
			n := sent.Items[ch]
			if got := m[`okxtape_events_total{channel="`+ch+`"}`]; uint64(got) < n {
				missing = fmt.Sprintf("%s: %v of %d", ch, got, n)
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("record did not decode everything the simulator sent within %s (%s)", waitLimit, missing)
	}
}
