package ingest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
)

// maxRESTBody bounds a REST response (the SWAP/OPTION instrument lists are a few MB).
const maxRESTBody = 64 << 20

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// restGet GETs base+path?query and returns the body of a 200 answer. Demo adds x-simulated-trading: 1.
func restGet(ctx context.Context, hc *http.Client, base, path string, query map[string]string, demo bool) ([]byte, error) {
	if base == "" {
		base = DefaultRESTURL
	}
	q := url.Values{}
	for k, v := range query {
		q.Set(k, v)
	}
	u := strings.TrimRight(base, "/") + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("ingest: GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	if demo {
		req.Header.Set("x-simulated-trading", "1")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ingest: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRESTBody))
	if err != nil {
		return nil, fmt.Errorf("ingest: GET %s: reading body: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		snippet := string(body[:min(len(body), 200)])
		return nil, fmt.Errorf("ingest: GET %s: HTTP %d: %s", u, resp.StatusCode, snippet)
	}
	return body, nil
}

// FetchInstruments lists the instruments of one instType (SPOT, MARGIN, SWAP, FUTURES, ...) with REST
// GET /api/v5/public/instruments, for --all-instruments. restURL "" means DefaultRESTURL; demo adds the
// x-simulated-trading header. OPTION and EVENTS need more selectors and are answered with an OKX error.
func FetchInstruments(ctx context.Context, restURL, instType string, demo bool) ([]decode.Instrument, error) {
	body, err := restGet(ctx, defaultHTTP, restURL, "/api/v5/public/instruments",
		map[string]string{"instType": instType}, demo)
	if err != nil {
		return nil, err
	}
	ins, err := decode.ParseRESTInstruments(body)
	if err != nil {
		return nil, fmt.Errorf("ingest: instruments %s: %w", instType, err)
	}
	return ins, nil
}
