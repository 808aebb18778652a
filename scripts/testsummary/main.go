// Command testsummary reads `go test -json` on stdin and prints what `go test` prints (a line per package,
// the output of failed tests and packages), then every skipped test with the reason it gave, so that skips
// are never invisible. It exits 1 when anything failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	Elapsed    float64
	ImportPath string
}

type key struct{ pkg, test string }

func main() {
	failed, err := summarise(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// summarise copies the verdicts from r to w and reports whether anything failed.
func summarise(r io.Reader, w io.Writer) (bool, error) {
	out := map[key][]string{}
	var skipped []string
	failed := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || (e.Action == "" && e.Package == "") {
			fmt.Fprintf(w, "%s\n", line) // not test2json (a build error from the go command itself)
			continue
		}
		k := key{e.Package, e.Test}
		if e.Action == "build-output" {
			k = key{e.ImportPath, ""}
		}
		switch e.Action {
		case "output", "build-output":
			out[k] = append(out[k], e.Output)
		case "build-fail":
			failed = true
			fmt.Fprint(w, strings.Join(out[k], ""))
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(out[k])))
			}
			delete(out, k)
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
			}
			delete(out, k)
		case "fail":
			failed = true
			fmt.Fprint(w, strings.Join(out[k], ""))
			if e.Test == "" {
				fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
			}
			delete(out, k)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	sort.Strings(skipped)
	if len(skipped) > 0 {
		fmt.Fprintf(w, "\n%d tests skipped:\n", len(skipped))
		for _, s := range skipped {
			fmt.Fprintln(w, "  "+s)
		}
	} else {
		fmt.Fprintln(w, "\nno test skipped")
	}
	return failed, nil
}

// reason is what a skipped test logged, without the framework's own lines.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}
