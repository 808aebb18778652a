// Package replay reads stored datasets back as one ordered stream, drives the engine with it in event time,
// serves it over OKX's WebSocket protocol, and rebuilds normalised datasets from raw frames.
//
// # Ordering rule
//
// All selected datasets and instruments are merged into one stream ordered by the key
//
//	(K, Seq, Kind)   where K = the largest exchange ts (Header.Ts) seen so far in the event's stream,
//	                 in arrival (Seq) order, including the event itself
//
// A stream is (kind, Header.Channel, Header.InstID). When exchange time only moves forward in a stream, K is
// the event's own ts and the order is simply (ts, seq): events are merged by exchange time and ties are
// broken by the recorded arrival sequence. When OKX's ts goes backwards inside a stream (two mark prices with
// the same ts, a late correction), the event keeps its place after the events that arrived before it, at the
// stream's high-water time: the recorded arrival order within a stream is never changed. Seq is unique per
// event, so Kind only matters for rows that share a seq (never the case for recorded data). The running
// maximum is taken over the selected rows, so the order is a pure function of the stored data and the
// selection: two replays of the same range produce the same sequence. Gaps (the outage ledger) are merged
// like any other dataset; their ts is the start of the outage, so they arrive where it began. Raw frames and
// session rows are not part of `replay run` (raw frames are for serve and renormalise).
//
// Within a stream this order is the arrival order, which is the order the live engine dispatched, so a
// digest of each stream (strategies.Digest) is the same live and in replay.
//
// Boundaries: the running maximum is carried from one part of a dataset to the next (applied to rows that
// arrived after the carried row). For Parquet, parts are files in (date, first seq) order: exact within a UTC
// day (the writer closes a file when the day of ts changes, and within a day its files hold increasing seq
// ranges); a stream whose ts goes backwards across midnight is ordered by its own ts there. ClickHouse
// returns rows in (ts, seq) order and is read in time windows; each window also reads the following 60 s
// (ClickHouseSource.ContextMs) to compute its rows' keys, so the rule holds exactly unless a stream's ts
// goes back by more than that across a window edge.
//
// # Reading and memory
//
// A Source lists each dataset as Parts: for Parquet, slices of about 1k rows of the by-instrument row groups
// (one reader per row group streams its slices in order; ts bounds from one read of the ts and seq columns),
// whole row groups when small, or whole files written by older versions; for ClickHouse, time windows sized
// to about 256k rows each. The merge keeps one entry per (stream, loaded part) with the head key inlined
// and loads a part only when the smallest key reaches the part's lowest possible ts (the minimum MinTs
// of it and every later part of its dataset), so overlapping parts of a dataset are merged correctly without
// loading them all. A loaded part holds its rows by value in a reusable slab (no allocation per row; the
// merge itself allocates nothing per event) plus a 36-byte entry per row. Memory is bounded by the parts in
// memory and the row-group readers open: about one slice and one reader per instrument and dataset, plus
// StreamOptions.ReadAhead parts read ahead by worker goroutines, whatever the length of the range. Datasets
// no selected channel writes are not opened, and row groups whose statistics exclude the selection are
// not read.
//
// # Clock
//
// Run emits into an engine in engine.Replay mode: the engine keeps each event's recorded Seq and sets Now to
// the event's ts, firing timers as event time passes them. NewEngine starts the clock at the range start
// (--from, else the first event) before strategies attach, so timers they start count from there; at the end
// Run advances the clock to RunOptions.End so trailing timers fire. Pacing (RunOptions.Speed) sleeps so that
// event time advances at Speed × wall time; 0 is as fast as possible.
//
// # Serve
//
// Server speaks OKX v5 on /ws/v5/public, /ws/v5/business and /ws/v5/private (see Server: one playback clock
// per connection, started at the range's start by the first subscribe; later subscriptions join at the
// current playback time, depth channels with a snapshot rebuilt by ingest's book code). Frames are the stored
// raw frames, byte for byte, when the raw dataset has any in the range; otherwise pushes are re-rendered
// from the normalised rows (AppendPush) with consistent seqId chains. Connections share the reading of the
// range through the tape (serve_tape.go); reads and send queues are bounded with internal/wslimit.
//
// # Renormalise
//
// Renormalise decodes the stored raw frames again and writes fresh normalised datasets to another folder;
// see its doc for the sequence numbers it assigns.
package replay
