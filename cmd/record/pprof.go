//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // profiling variant: go build -tags pprof ./cmd/record
	"os"
)

// With -tags pprof and OKXTAPE_PPROF_ADDR set, record serves net/http/pprof there (for profiling the
// binary as benchreport runs it).
func init() {
	if addr := os.Getenv("OKXTAPE_PPROF_ADDR"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
