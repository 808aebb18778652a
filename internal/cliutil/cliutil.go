// Package cliutil holds what the okxtape commands share: logging, signals, metrics serving, strategies,
// time parsing and the exit summary.
package cliutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/strategies"
)

// NewLogger returns a text slog logger on stderr at the named level (debug, info, warn, error).
func NewLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// RunContext is cancelled on SIGINT/SIGTERM, or after d when d > 0.
func RunContext(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	if d <= 0 {
		return ctx, stop
	}
	ctx2, cancel := context.WithTimeout(ctx, d)
	return ctx2, func() { cancel(); stop() }
}

// ServeMetrics serves Prometheus /metrics (and /healthz) on addr in the background. An empty addr does
// nothing. It returns the bound address (useful with port 0).
func ServeMetrics(addr string, log *slog.Logger) (string, func(), error) {
	if addr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("metrics listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", "http://"+ln.Addr().String()+"/metrics")
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// Strategies makes and attaches the named strategies (comma-separated or repeated) to e.
func Strategies(names []string, e *engine.Engine, out io.Writer) (map[string]strategies.Strategy, error) {
	got := map[string]strategies.Strategy{}
	for _, n := range SplitList(names) {
		s, err := strategies.New(n, out)
		if err != nil {
			return nil, err
		}
		s.Attach(e)
		got[n] = s
	}
	return got, nil
}

// Summaries collects each strategy's summary.
func Summaries(s map[string]strategies.Strategy) map[string]any {
	out := map[string]any{}
	for n, st := range s {
		out[n] = st.Summary()
	}
	return out
}

// SplitList flattens repeated and comma-separated flag values, dropping blanks.
func SplitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, schema.SplitList(v)...)
	}
	return out
}

// PrintJSONLine writes v as one JSON line.
func PrintJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// ParseTime accepts RFC 3339 (2026-12-01T10:00:00Z), a date (2026-12-01, meaning its UTC midnight), or "".
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q: want RFC 3339 (2026-12-01T10:00:00Z) or a date (2026-12-01)", s)
}
