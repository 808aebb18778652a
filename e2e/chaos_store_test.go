package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Chaos tests of the store side (issue 13): each reproduces one finding with the real binaries and asserts
// that nothing is lost or that the run is refused with the right exit code.

// recordArgs are the flags every chaos run shares.
func recordArgs(s *sim, out string, more ...string) []string {
	return append([]string{"--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "tickers,trades",
		"--inst", "BTC-USDT,ETH-USDT", "--out", out, "--flush-interval", "200ms", "--log-level", "warn"}, more...)
}

// waitFor polls cond every 50 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric reads one unlabelled gauge or counter from a recorder's /metrics.
func metric(t *testing.T, addr, name string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// TestTwoRecordersOneOut is finding 1: a second recorder on the same --out (or the same spool) used to treat
// the first one's live spool as a crashed run and store every event twice. It is now refused with exit 2
// naming the holder, and the first run stores every event exactly once.
func TestTwoRecordersOneOut(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "20")
	rec := start(t, nil, "record", recordArgs(s, out)...)
	waitFor(t, 20*time.Second, "the first recorder's lock", func() bool {
		b, _ := os.ReadFile(filepath.Join(out, ".spool", ".okxtape.lock"))
		return strings.Contains(string(b), `"running"`)
	})
	host, _ := os.Hostname()
	for _, args := range [][]string{recordArgs(s, out), recordArgs(s, t.TempDir(), "--spool-dir", filepath.Join(out, ".spool"))} {
		second := start(t, nil, "record", args...)
		second.wait(30 * time.Second)
		msg := second.stderr.String()
		if second.exitCode() != 2 || !strings.Contains(msg, fmt.Sprintf("pid %d on host %s", rec.cmd.Process.Pid, host)) {
			t.Fatalf("second recorder: exit %d, stderr %q", second.exitCode(), msg)
		}
	}
	sent := s.finish()
	time.Sleep(time.Second)
	rec.stop(syscall.SIGTERM, 60*time.Second)
	if rec.exitCode() != 0 {
		t.Fatalf("first recorder exit %d", rec.exitCode())
	}
	for _, ds := range []string{"tickers", "trades"} {
		if got := storedRows(t, out, ds, "")[ds]; got != sent.Items[ds] {
			t.Errorf("%s: sent %d, stored %d", ds, sent.Items[ds], got)
		}
	}
}

// tmpfs mounts a small tmpfs (a disk that fills) for the test, or skips where mounting is not allowed
// (CI runs as root, where it must work).
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("OKXTAPE_REQUIRE_CLICKHOUSE") == "1" && os.Geteuid() == 0 {
			t.Fatalf("mounting a tmpfs: %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes a file so that about leave bytes stay free on dir's file system.
func fill(t *testing.T, dir, name string, leave int64) {
	t.Helper()
	n := freeBytes(t, dir) - leave
	if n <= 0 {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o600); err != nil {
		t.Fatalf("filling the disk: %v", err)
	}
}

// TestDiskFullAtStart is finding 2's second half: a full disk at start lost 100 % with "dropped 0, errors 0"
// and exit 0. It is now refused: exit 1, a message naming the folder and the mark, nothing accepted.
func TestDiskFullAtStart(t *testing.T) {
	disk := tmpfs(t, "8m")
	fill(t, disk, "filler", 1<<20)
	s := startSim(t, "--instruments", "2", "--rate", "20")
	rec := start(t, nil, "record", recordArgs(s, filepath.Join(disk, "data"), "--disk-low-mb", "4", "--disk-critical-mb", "2")...)
	rec.wait(30 * time.Second)
	if rec.exitCode() != 1 || !strings.Contains(rec.stderr.String(), "disk full") || !strings.Contains(rec.stderr.String(), "critical mark of 2 MiB") {
		t.Fatalf("full disk at start: exit %d, stderr %q", rec.exitCode(), rec.stderr.String())
	}
}

// TestDiskFillsDuringRun is finding 2: the disk filling mid-run lost ~40 % of events and the summary said
// "dropped":0. Now raw frames are shed below the low mark, nothing is accepted below the critical mark, and
// every event the simulator sent is either stored or counted as dropped in its dataset; exit 1.
func TestDiskFillsDuringRun(t *testing.T) {
	disk := tmpfs(t, "24m")
	out := filepath.Join(disk, "data")
	s := startSim(t, "--instruments", "2", "--rate", "20")
	maddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	rec := start(t, nil, "record", recordArgs(s, out, "--disk-low-mb", "12", "--disk-critical-mb", "4", "--metrics-addr", maddr)...)
	level := func(want float64) func() bool {
		return func() bool { v, ok := metric(t, maddr, "okxtape_disk_level"); return ok && v == want }
	}
	waitFor(t, 20*time.Second, "the recorder's metrics", level(0))
	time.Sleep(time.Second)
	fill(t, disk, "filler1", 9<<20) // below the low mark (12) but above halfway (8): raw frames shed
	waitFor(t, 20*time.Second, "raw frames shed", level(1))
	time.Sleep(time.Second)
	fill(t, disk, "filler2", 2<<20) // below the critical mark: nothing recorded
	waitFor(t, 20*time.Second, "disk critical", level(3))
	time.Sleep(time.Second)
	os.Remove(filepath.Join(disk, "filler1"))
	os.Remove(filepath.Join(disk, "filler2"))
	waitFor(t, 20*time.Second, "recovery", level(0))
	time.Sleep(time.Second)
	sent := s.finish()
	time.Sleep(time.Second)
	rec.stop(syscall.SIGTERM, 60*time.Second)
	var sum summary
	rec.lastJSON(&sum)
	if rec.exitCode() != 1 || sum.path("store", "disk_was_critical") != true {
		t.Fatalf("exit %d (want 1), summary store %v", rec.exitCode(), sum.path("store"))
	}
	dropped := func(ds string) uint64 {
		v, _ := sum.path("store", "dropped_per_dataset", ds).(float64)
		return uint64(v)
	}
	for _, ds := range []string{"tickers", "trades"} {
		got := storedRows(t, out, ds, "")[ds]
		if dropped(ds) == 0 || got+dropped(ds) != sent.Items[ds] {
			t.Errorf("%s: sent %d, stored %d + dropped %d", ds, sent.Items[ds], got, dropped(ds))
		}
	}
	var raw uint64
	for _, n := range storedRows(t, out, "raw", "") {
		raw += n
	}
	frames := sent.Frames["tickers"] + sent.Frames["trades"]
	if dropped("raw") <= dropped("tickers") || raw+dropped("raw") != frames {
		t.Errorf("raw: sent %d frames, stored %d + dropped %d (raw must be shed first: tickers dropped %d)", frames, raw, dropped("raw"), dropped("tickers"))
	}
	t.Logf("sent %v; dropped %v; exit %d", sent.Items, sum.path("store", "dropped_per_dataset"), rec.exitCode())
}
