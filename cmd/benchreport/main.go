// Command benchreport runs okxtape's benchmark suite and prints one JSON object of named figures, each a
// ratio to a baseline measured in the same run or a distribution from one run (`make bench`).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// result is one parsed `go test -bench` line.
type result struct {
	NsPerOp     float64
	AllocsPerOp float64
	BytesPerOp  float64
	Extra       map[string]float64 // custom metrics (b.ReportMetric), by unit
}

var benchLine = regexp.MustCompile(`^(Benchmark[^\s]+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// runBench runs the benchmarks matching pattern in pkg and returns results by name (without -GOMAXPROCS).
func runBench(pkg, pattern, benchtime string, env ...string) (map[string]result, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchmem", "-benchtime", benchtime, "-count", "1", "-timeout", "15m", pkg}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	log.Printf("go %s", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s %s: %w\n%s", pattern, pkg, err, out.String())
	}
	res := map[string]result{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(os.Stderr, line)
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := result{Extra: map[string]float64{}}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.NsPerOp = v
			case "allocs/op":
				r.AllocsPerOp = v
			case "B/op":
				r.BytesPerOp = v
			default:
				r.Extra[f[i+1]] = v
			}
		}
		res[m[1]] = r
	}
	return res, nil
}

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

func main() {
	outPath := flag.String("out", "", "where to write the JSON figures (default: bench/latest.json for the full suite, nowhere for a part of it)")
	soak := flag.Duration("soak", 0, "instead of the suite, record from the simulator this long and report RSS growth")
	quick := flag.Bool("quick", false, "shorter runs (for a smoke test of the harness)")
	liveOnly := flag.Bool("live-only", false, "only the live-latency figures")
	writeOnly := flag.String("write-mix", "", "only write the 5-channel mix to this folder (with -mix-secs), print its store sizes and floor, and exit")
	mixSecs := flag.Int("mix-secs", 200, "seconds of the mix for -write-mix")
	mixOnly := flag.Bool("mix-only", false, "only the 5-channel-mix figures (replay, store size)")
	recOnly := flag.Bool("recorder-only", false, "only the record process figures (RSS, CPU per frame vs --no-store)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("benchreport: ")

	figures := map[string]any{
		"machine":   machine(),
		"go":        runtime.Version(),
		"timestamp": time.Now().UTC().Format(time.RFC3339),
	}
	var err error
	switch {
	case *writeOnly != "":
		err = writtenMixFigures(figures, *writeOnly, *mixSecs)
	case *soak > 0:
		err = runSoak(*soak, figures)
	case *liveOnly:
		err = runLive(figures, *quick)
	case *recOnly:
		var bin string
		if bin, err = buildBinaries(); err == nil {
			err = processFigures(figures, *quick, bin)
			os.RemoveAll(bin)
		}
	case *mixOnly:
		var bin string
		if bin, err = buildBinaries(); err == nil {
			err = mixFigures(figures, *quick, bin)
			os.RemoveAll(bin)
		}
	default:
		err = runSuite(figures, *quick)
	}
	if err != nil {
		log.Fatal(err)
	}
	full := *writeOnly == "" && *soak == 0 && !*liveOnly && !*recOnly && !*mixOnly
	if out := outFile(*outPath, full); out != "" {
		b, _ := json.MarshalIndent(figures, "", "  ")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err == nil {
			if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
				log.Printf("writing %s: %v", out, err)
			}
		}
	}
	compact, _ := json.Marshal(figures)
	fmt.Println(string(compact))
}

// outFile is where the figures go: the -out flag, or bench/latest.json for the full suite; a part of it
// (-write-mix, -mix-only, ...) without -out only prints them, so it never replaces the suite's figures.
func outFile(flagOut string, fullSuite bool) string {
	if flagOut == "" && fullSuite {
		return "bench/latest.json"
	}
	return flagOut
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%d x %s, load %s", runtime.NumCPU(), model, load)
}
