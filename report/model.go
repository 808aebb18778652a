package report

// Report is the data-quality report over one stored range; it is what report.json holds.
type Report struct {
	Generated     string     `json:"generated"`
	Source        string     `json:"source"`
	Range         Range      `json:"range"`
	BucketSeconds int64      `json:"bucket_seconds"` // width of the per-bucket series: 1 s to 60 s up to a 48 h range, wider beyond
	Verdicts      []Verdict  `json:"verdict"`
	Coverage      []Coverage `json:"coverage"`
	Gaps          []Gap      `json:"gaps"`
	// GapsOmitted counts ledger rows beyond the report's cap (MaxGaps): counted in the totals, not listed.
	GapsOmitted uint64            `json:"gaps_omitted,omitempty"`
	GapCounts   map[string]uint64 `json:"gap_counts"` // ledger and derived gaps by reason, including omitted ones
	Latency     []Latency         `json:"latency"`
	Books       []Books           `json:"books"`
	Sessions    []Session         `json:"sessions"`
	Series      Series            `json:"series"`
}

// Range is the reported time range [From, To).
type Range struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	FromMs  int64   `json:"from_ms"`
	ToMs    int64   `json:"to_ms"`
	Seconds float64 `json:"seconds"`
}

// Verdict values.
const (
	Complete = "complete"
	HasGaps  = "gaps"
	NoData   = "no data"
)

// Verdict is the one-word answer for one (channel, instrument).
type Verdict struct {
	Channel       string  `json:"channel"`
	InstID        string  `json:"inst_id"`
	Verdict       string  `json:"verdict"`
	Events        uint64  `json:"events"` // rows of the channel's primary datasets (not raw frames or derived quotes)
	Gaps          int     `json:"gaps"`   // gaps that touch this stream and no other recorder covered
	CoverageRatio float64 `json:"coverage_ratio"`
}

// Coverage is one (dataset, channel, instrument): what is stored and how well it covers the range.
type Coverage struct {
	Dataset        string  `json:"dataset"`
	Channel        string  `json:"channel"`
	InstID         string  `json:"inst_id"`
	Ledger         bool    `json:"ledger,omitempty"` // the gaps and sessions ledgers: counted, no verdict
	Events         uint64  `json:"events"`
	FirstTs        string  `json:"first_ts,omitempty"`
	LastTs         string  `json:"last_ts,omitempty"`
	FirstTsMs      int64   `json:"first_ts_ms"`
	LastTsMs       int64   `json:"last_ts_ms"`
	CoveredSeconds float64 `json:"covered_seconds"` // the range minus the stream's gaps and unrecorded time
	RangeSeconds   float64 `json:"range_seconds"`
	CoverageRatio  float64 `json:"coverage_ratio"`
	RatePerMin     Rate    `json:"rate_per_min"` // over the range's buckets, empty ones included
	Duplicates     uint64  `json:"duplicates"`   // rows whose arrival seq was already stored (Parquet re-writes)
}

// Rate is the event rate per minute over the range's buckets.
type Rate struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// Gap scopes.
const (
	ScopeRecorder   = "recorder"   // no recorder session was running
	ScopeConnection = "connection" // one connection (all its subscriptions) was down
	ScopeChannel    = "channel"    // one channel on every instrument
	ScopeInstrument = "instrument" // one channel of one instrument (book incidents)
)

// Gap reasons derived from the session ledger (the others are the gap ledger's, schema.Gap*).
const (
	ReasonNotRecording = "not_recording" // between a clean stop and the next start
	ReasonCrash        = "crash"         // a session ended without a clean stop; its spool was recovered at the next start
)

// Gap is one outage or book incident.
type Gap struct {
	Start          string  `json:"start"`
	End            string  `json:"end"`
	StartMs        int64   `json:"start_ms"`
	EndMs          int64   `json:"end_ms"`
	DurationS      float64 `json:"duration_s"`
	Scope          string  `json:"scope"`
	Conn           string  `json:"conn,omitempty"`
	Channel        string  `json:"channel,omitempty"`
	InstID         string  `json:"inst_id,omitempty"`
	Reason         string  `json:"reason"`
	Detail         string  `json:"detail,omitempty"`
	Source         string  `json:"source"` // "gap ledger" or "sessions"
	CoveredByOther bool    `json:"covered_by_other"`
	CoveredEvents  uint64  `json:"covered_events"` // events of the gap's streams stored inside its window
}

// Latency is the exchange-to-local lag (recv_ns − ts) of one channel, in milliseconds.
type Latency struct {
	Channel  string  `json:"channel"`
	Samples  uint64  `json:"samples"`
	Negative uint64  `json:"negative"` // received "before" the exchange stamped it: clock skew
	Min      float64 `json:"min_ms"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	P999     float64 `json:"p999_ms"`
	Max      float64 `json:"max_ms"`
}

// Books is the order-book health of one (channel, instrument).
type Books struct {
	Channel           string `json:"channel"`
	InstID            string `json:"inst_id"`
	Snapshots         uint64 `json:"snapshots"`
	Updates           uint64 `json:"updates"`
	Resyncs           uint64 `json:"resyncs"`             // gap ledger: books rebuilt
	SeqBreaks         uint64 `json:"seq_breaks"`          // gap ledger: seqId chain breaks detected live
	StoredChainBreaks uint64 `json:"stored_chain_breaks"` // stored updates whose prevSeqId is not the last stored seqId
	ChecksumsVerified uint64 `json:"checksums_verified"`  // stored messages with a non-zero checksum (verified before storing)
	ChecksumFailures  uint64 `json:"checksum_failures"`   // gap ledger
	CrossedBooks      uint64 `json:"crossed_books"`       // gap ledger
	CrossedQuotes     uint64 `json:"crossed_quotes"`      // stored tops of book with bid >= ask
}

// Session is one recording session from the session ledger.
type Session struct {
	ID          string `json:"id"`
	Host        string `json:"host"`
	Version     string `json:"version"`
	ConfigHash  string `json:"config_hash"`
	Channels    string `json:"channels"`
	Instruments string `json:"instruments"`
	Start       string `json:"start"`
	Stop        string `json:"stop,omitempty"`
	StartMs     int64  `json:"start_ms"`
	StopMs      int64  `json:"stop_ms"`    // 0: no clean stop (running, or crashed)
	Clean       bool   `json:"clean_stop"` // a stop row was written
}

// Series are the per-bucket figures the HTML charts draw; bucket i starts at Range.FromMs + i*BucketSeconds.
type Series struct {
	Rates []RateSeries `json:"rates"` // events per minute, per (channel, instrument)
	Lags  []LagSeries  `json:"lags"`  // lag per channel
}

// RateSeries is one stream's events per minute in each bucket.
type RateSeries struct {
	Channel string    `json:"channel"`
	InstID  string    `json:"inst_id"`
	PerMin  []float64 `json:"per_min"`
}

// LagSeries is one channel's mean and maximum lag (ms) in each bucket; NaN-free: -1 where there was no event.
type LagSeries struct {
	Channel string    `json:"channel"`
	MeanMs  []float64 `json:"mean_ms"`
	MaxMs   []float64 `json:"max_ms"`
}
