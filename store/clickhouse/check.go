package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// serverColumn is one column of a table as system.columns reports it.
type serverColumn struct{ name, typ, kind string }

// checkTable compares a table on the server with the schema. Both DDL generations are accepted for every
// column (String or LowCardinality(String) for dictionary columns), so a table created by an older server
// keeps working after an upgrade; extra columns are fine when they are computed or have a default (ALIAS,
// MATERIALIZED, DEFAULT: the insert names its columns). It returns nil or a sentence naming what is wrong.
func checkTable(t *schema.Table, got []serverColumn) error {
	if len(got) == 0 {
		return errors.New("table is missing")
	}
	byName := map[string]serverColumn{}
	for _, c := range got {
		byName[c.name] = c
	}
	var problems []string
	for _, c := range t.Columns {
		sc, ok := byName[c.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("column %s is missing (want %s)", c.Name, chType(c, false)))
			continue
		}
		want := []string{chType(c, false), chType(c, true)}
		if sc.typ != want[0] && sc.typ != want[1] {
			problems = append(problems, fmt.Sprintf("column %s is %s, want %s", c.Name, sc.typ, want[0]))
		}
		delete(byName, c.Name)
	}
	var extra []string
	for name, sc := range byName {
		if sc.kind == "" {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		problems = append(problems, fmt.Sprintf("column %s (%s) is not in the schema and has no default", name, byName[name].typ))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// loadColumns reads every column of the database's tables.
func (s *Sink) loadColumns(ctx context.Context) (map[string][]serverColumn, error) {
	rows, err := s.conn.Query(ctx, "SELECT table, name, type, default_kind FROM system.columns WHERE database = "+
		quoteString(s.db))
	if err != nil {
		return nil, fmt.Errorf("read system.columns: %w", err)
	}
	defer rows.Close()
	out := map[string][]serverColumn{}
	for rows.Next() {
		var table string
		var c serverColumn
		if err := rows.Scan(&table, &c.name, &c.typ, &c.kind); err != nil {
			return nil, fmt.Errorf("read system.columns: %w", err)
		}
		out[table] = append(out[table], c)
	}
	return out, rows.Err()
}

// checkSchema checks every table and returns the ones that do not match, by name.
func (s *Sink) checkSchema(ctx context.Context) (map[string]error, error) {
	cols, err := s.loadColumns(ctx)
	if err != nil {
		return nil, err
	}
	bad := map[string]error{}
	for _, t := range schema.Tables() {
		if err := checkTable(t, cols[t.Name]); err != nil {
			bad[t.Name] = fmt.Errorf("table %s.%s does not match the okxtape schema: %w (drop or rename it, or record into another database)",
				s.db, t.Name, err)
		}
	}
	return bad, nil
}

// recheckEvery is how often the tables found bad are checked again (an operator may fix or drop them; a
// dropped table is created afresh).
const recheckEvery = time.Minute

// badTable returns the schema error of t, re-checking the bad tables at most once per recheckEvery.
func (s *Sink) badTable(ctx context.Context, t *schema.Table) error {
	if s.bad[t.Name] == nil || time.Since(s.checked) < recheckEvery {
		return s.bad[t.Name]
	}
	s.checked = time.Now()
	for name := range s.bad {
		if tb := schema.TableByName(name); tb != nil {
			if err := s.conn.Exec(ctx, DDL(s.db, tb, s.ddlVersion())); err != nil {
				return s.bad[t.Name]
			}
		}
	}
	bad, err := s.checkSchema(ctx)
	if err != nil {
		return s.bad[t.Name]
	}
	for name := range s.bad {
		if bad[name] == nil {
			s.log.Info("clickhouse: table matches the schema again; its batches are inserted again", "table", name)
		}
	}
	s.bad = bad
	return bad[t.Name]
}

// permanentCodes are ClickHouse error codes that retrying the same insert cannot fix.
var permanentCodes = map[int32]string{
	6: "CANNOT_PARSE_TEXT", 8: "THERE_IS_NO_COLUMN", 10: "NOT_FOUND_COLUMN_IN_BLOCK", 16: "NO_SUCH_COLUMN_IN_TABLE",
	20: "NUMBER_OF_COLUMNS_DOESNT_MATCH", 27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED", 41: "CANNOT_PARSE_DATETIME",
	43: "ILLEGAL_TYPE_OF_ARGUMENT", 44: "ILLEGAL_COLUMN", 47: "UNKNOWN_IDENTIFIER", 49: "LOGICAL_ERROR",
	50: "UNKNOWN_TYPE", 53: "TYPE_MISMATCH", 60: "UNKNOWN_TABLE", 62: "SYNTAX_ERROR", 70: "CANNOT_CONVERT_TYPE",
	81: "UNKNOWN_DATABASE", 117: "INCORRECT_DATA", 164: "READONLY", 192: "UNKNOWN_USER", 193: "WRONG_PASSWORD",
	194: "REQUIRED_PASSWORD", 195: "IP_ADDRESS_NOT_ALLOWED", 291: "DATABASE_ACCESS_DENIED", 497: "ACCESS_DENIED",
	516: "AUTHENTICATION_FAILED",
}

// classify marks an error of the driver as store.Permanent (schema, type, auth, unknown table: see
// permanentCodes, and values the driver cannot convert) or store.Temporary (network, timeouts, too many parts,
// memory, anything else the server says).
func classify(err error) error {
	if err == nil || store.IsPermanent(err) || store.IsTemporary(err) {
		return err
	}
	var ex *proto.Exception
	if errors.As(err, &ex) {
		if _, ok := permanentCodes[ex.Code]; ok {
			return store.Permanent(err)
		}
		return store.Temporary(err)
	}
	var conv *column.ColumnConverterError
	var colErr *column.Error
	var unsupported *column.UnsupportedColumnTypeError
	if errors.As(err, &conv) || errors.As(err, &colErr) || errors.As(err, &unsupported) {
		return store.Permanent(err)
	}
	return store.Temporary(err) // network errors, timeouts, EOF, and server codes not listed as permanent
}
