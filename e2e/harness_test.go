package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/schema"
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "okxtape-e2e-bin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-race", "-o", dir+"/", "../cmd/record", "../cmd/replay", "../cmd/okxsim")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Println("e2e: building the binaries failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a running binary with captured output.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

func start(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, name), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr (tail):\n%s", name, tail(p.stderr.String(), 3000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stop signals the process and waits for it to exit.
func (p *proc) stop(sig syscall.Signal, within time.Duration) {
	p.t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(within):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("%s did not exit within %v after %v", p.name, within, sig)
	}
}

func (p *proc) wait(within time.Duration) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("%s did not finish within %v", p.name, within)
	}
}

func (p *proc) exitCode() int {
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// end stops a recorder with SIGTERM (it must exit within 60 s), fails the test unless it exited with want, and
// returns its exit summary.
func (p *proc) end(want int) summary {
	p.t.Helper()
	p.stop(syscall.SIGTERM, 60*time.Second)
	return p.result(want)
}

// result fails the test unless the process exited with want, and returns its exit summary.
func (p *proc) result(want int) summary {
	p.t.Helper()
	if p.exitCode() != want {
		p.t.Fatalf("%s exit %d, want %d; stdout tail:\n%s", p.name, p.exitCode(), want, tail(p.stdout.String(), 2000))
	}
	var sum summary
	p.lastJSON(&sum)
	return sum
}

// lastJSON decodes the last JSON line the process printed on stdout.
func (p *proc) lastJSON(v any) {
	p.t.Helper()
	var last string
	sc := bufio.NewScanner(bytes.NewReader(p.stdout.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "{") {
			last = l
		}
	}
	if last == "" {
		p.t.Fatalf("%s printed no JSON line; stdout tail:\n%s\nstderr tail:\n%s", p.name, tail(p.stdout.String(), 2000), tail(p.stderr.String(), 2000))
	}
	if err := json.Unmarshal([]byte(last), v); err != nil {
		p.t.Fatalf("%s summary: %v\n%s", p.name, err, last)
	}
}

// simStats is okxsim's exit line: frames and data items sent per channel, faults injected per kind.
type simStats struct {
	Frames map[string]uint64 `json:"frames"`
	Items  map[string]uint64 `json:"items"`
	Faults map[string]uint64 `json:"faults"`
}

type sim struct {
	*proc
	addr string
}

func startSim(t *testing.T, args ...string) *sim {
	t.Helper()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := start(t, nil, "okxsim", append([]string{"--listen", addr}, args...)...)
	var err error
	if !testenv.WaitFor(10*time.Second, func() bool {
		var resp *http.Response
		if resp, err = http.Get("http://" + addr + "/stats"); err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		t.Fatalf("okxsim did not come up: %v", err)
	}
	return &sim{proc: p, addr: addr}
}

// finish stops the simulator with SIGINT and returns what it sent and the faults it injected.
func (s *sim) finish() simStats {
	s.t.Helper()
	s.stop(syscall.SIGINT, 30*time.Second)
	var st simStats
	s.lastJSON(&st)
	return st
}

func (s *sim) ws() string   { return "ws://" + s.addr }
func (s *sim) rest() string { return "http://" + s.addr }

// storedRows reads every Parquet file of a dataset back (with arrow-go) and counts rows per channel,
// optionally only for one instrument.
func storedRows(t *testing.T, dir, dataset, inst string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	err := parquet.ReadDataset(dir, dataset, time.Time{}, time.Time{}, func(e schema.Stored) error {
		if inst == "" || e.Hdr().InstID == inst {
			out[e.Hdr().Channel]++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s back: %v", dataset, err)
	}
	return out
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// replayDigest replays everything stored in dir with the digest strategy and returns its summary.
func replayDigest(t *testing.T, dir string) (summary, *proc) {
	t.Helper()
	rep := start(t, nil, "replay", "run", "--data", dir, "--speed", "max", "--strategy", "digest", "--log-level", "warn")
	rep.wait(2 * time.Minute)
	s := rep.result(0)
	return s, rep
}

// requireParity fails unless the live and replayed digests are equal and not empty.
func requireParity(t *testing.T, what string, live, replayed summary) {
	t.Helper()
	ld, rd := live.str("strategies", "digest", "digest"), replayed.str("strategies", "digest", "digest")
	if ld == "" || ld != rd {
		t.Fatalf("%s: digest parity failed: live %q replay %q\nlive events %v\nreplay events %v", what, ld, rd,
			live.path("strategies", "digest", "events"), replayed.path("strategies", "digest", "events"))
	}
}
