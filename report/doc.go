// Package report builds a data-quality report (coverage, gaps, latency, books, sessions, verdicts) over a stored range in bounded memory, renders it as JSON, HTML and text, and exports live coverage metrics while recording.
package report
