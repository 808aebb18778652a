package sim

import (
	"net/http"
	"strconv"
	"time"
)

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func restError(w http.ResponseWriter, status int, code, msg string) {
	b := []byte{'{'}
	b = appendKV(b, "code", code)
	b = appendKV(b, "msg", msg)
	b = append(b, `,"data":[]}`...)
	writeJSON(w, status, b)
}

// restInstruments serves GET /api/v5/public/instruments?instType=SPOT|SWAP[&instId=...].
func (s *Server) restInstruments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	instType, instID := q.Get("instType"), q.Get("instId")
	if instType == "" {
		restError(w, http.StatusBadRequest, "50014", "Parameter instType can not be empty.")
		return
	}
	switch instType {
	case "SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS":
	default:
		restError(w, http.StatusBadRequest, "51000", "Parameter instType error")
		return
	}
	b := []byte(`{"code":"0","msg":"","data":[`)
	n := 0
	for _, in := range s.insts {
		if in.Type != instType || (instID != "" && in.ID != instID) || !in.listed() {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = appendInstrumentJSON(b, in)
		n++
	}
	writeJSON(w, http.StatusOK, append(b, ']', '}'))
}

// restBooks serves GET /api/v5/market/books?instId=...&sz=N (default 1, max 400): the current book, whose
// seqId lines up with the books/books-l2-tbt streams of the instrument.
func (s *Server) restBooks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	in := s.byID[q.Get("instId")]
	if q.Get("instId") == "" {
		restError(w, http.StatusBadRequest, "50014", "Parameter instId can not be empty.")
		return
	}
	if in == nil || s.capture != nil {
		restError(w, http.StatusOK, "51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist.")
		return
	}
	sz := 1
	if v := q.Get("sz"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			restError(w, http.StatusBadRequest, "51000", "Parameter sz error")
			return
		}
		sz = min(n, 400)
	}
	m := in.mkt
	b := []byte(`{"code":"0","msg":"","data":[{"asks":`)
	m.mu.Lock()
	b = in.appendLevels(b, m.asks.top(sz))
	b = append(b, `,"bids":`...)
	b = in.appendLevels(b, m.bids.top(sz))
	seq := m.seq
	m.mu.Unlock()
	b = appendKMs(b, "ts", time.Now().UnixMilli())
	b = appendKInt(b, "seqId", seq)
	writeJSON(w, http.StatusOK, append(b, `}]}`...))
}
