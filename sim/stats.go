package sim

import (
	"maps"
	"sync"
)

// Stats reports what the simulator sent. A data frame counts only once it was written to the socket
// successfully; injected malformed/unknown frames, acks, errors and pongs are not data.
type Stats struct {
	Frames      map[string]uint64 `json:"frames"`      // data frames sent per channel
	Items       map[string]uint64 `json:"items"`       // data items (elements of "data") sent per channel
	Connections uint64            `json:"connections"` // accepted so far
	Logins      map[string]uint64 `json:"logins"`      // "ok", "60007", ... per result code
	// Faults counts injected faults by kind (book_gap, book_dup, book_reset, book_bad_checksum, book_crossed,
	// bad_value, bomb), so tests can bound what a client should detect.
	Faults map[string]uint64 `json:"faults"`
	// Subscribed is the number of connections subscribed to each market-data stream right now, keyed
	// "channel:selector" ("tickers:BTC-USDT", "instruments:SWAP").
	Subscribed map[string]int `json:"subscribed"`
}

type statsCounter struct {
	mu     sync.Mutex
	frames map[string]uint64
	items  map[string]uint64
	conns  uint64
	logins map[string]uint64
	faults map[string]uint64
}

func newStatsCounter() *statsCounter {
	return &statsCounter{frames: map[string]uint64{}, items: map[string]uint64{}, logins: map[string]uint64{},
		faults: map[string]uint64{}}
}

func (s *statsCounter) data(channel string, items int) {
	s.mu.Lock()
	s.frames[channel]++
	s.items[channel] += uint64(items)
	s.mu.Unlock()
}

func (s *statsCounter) conn() {
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
}

func (s *statsCounter) login(code string) {
	s.mu.Lock()
	s.logins[code]++
	s.mu.Unlock()
}

func (s *statsCounter) fault(kind string) {
	s.mu.Lock()
	s.faults[kind]++
	s.mu.Unlock()
}

func (s *statsCounter) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Frames: maps.Clone(s.frames), Items: maps.Clone(s.items), Connections: s.conns,
		Logins: maps.Clone(s.logins), Faults: maps.Clone(s.faults)}
}
