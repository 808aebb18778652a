package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// Environment variables with the ClickHouse credentials, used when the DSN has none (keeps them out of
// command lines and process listings).
const (
	EnvUser     = "OKXTAPE_CLICKHOUSE_USER"
	EnvPassword = "OKXTAPE_CLICKHOUSE_PASSWORD"
)

// DefaultDatabase is used when the DSN has no path.
const DefaultDatabase = "okxtape"

// Options tunes the ClickHouse sink and source. The zero value is ready to use.
type Options struct {
	// DialTimeout bounds connecting (and waiting for a pooled connection); default 5 s.
	DialTimeout time.Duration
	// ReadTimeout bounds each read from the server, e.g. the wait for an insert's acknowledgement; default 60 s.
	ReadTimeout time.Duration
	// NoCompression disables LZ4 block compression on the wire.
	NoCompression bool
	// PlainDDL forces the plain (18.16-compatible) DDL on any server version.
	PlainDDL bool
	// Logger receives the one-line "opened" message; nil means slog.Default().
	Logger *slog.Logger
}

var (
	chInsertSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "okxtape_clickhouse_insert_seconds",
		Help:    "Duration of one ClickHouse batch insert (prepare, append, send), by dataset.",
		Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
	}, []string{"dataset"})
	chErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_clickhouse_errors_total",
		Help: "ClickHouse operations that failed, by operation (open, insert, read).",
	}, []string{"op"})
)

// Sink stores batches in ClickHouse with native batch inserts, one table per dataset (see DDL), or in
// cluster mode (?cluster=NAME) through the Distributed tables of ClusterDDL. Inserts are synchronous (on a
// cluster: insert_distributed_sync): a Write that returned nil is durable, so Pending never reports anything.
// Idempotency comes from ReplacingMergeTree keyed on each table's event key (schema.Table.Key): a retried
// batch, or a second recorder's copy of the same events, collapses on merge and FINAL queries see each event
// once.
//
// Concurrency: the Sink methods follow the Sink contract (one goroutine); Stats may be called concurrently.
type Sink struct {
	opts    chgo.Options
	db      string
	layout  Layout
	addr    string // host:port for logs and errors (never credentials)
	o       Options
	log     *slog.Logger
	conn    driver.Conn
	version ServerVersion
	ready   bool             // database and tables exist and were checked
	bad     map[string]error // tables whose server schema does not match: their batches fail permanently
	checked time.Time        // when bad was last computed
	inserts map[string]string
	w       chColumns

	mu   sync.Mutex
	rows map[string]uint64
}

var _ store.Sink = (*Sink)(nil)
var _ store.StatsReporter = (*Sink)(nil)

// NewSink parses the DSN (clickhouse://[user[:password]@]host:9000/db[?param=value...], with the
// clickhouse-go/v2 DSN parameters such as secure=true or dial_timeout=2s) without connecting. User and
// password come from the DSN, else from OKXTAPE_CLICKHOUSE_USER / OKXTAPE_CLICKHOUSE_PASSWORD, else
// "default" with no password. The database defaults to "okxtape" and is created by Open.
func NewSink(dsn string, o Options) (*Sink, error) {
	opts, db, layout, err := ParseDSN(dsn, o)
	if err != nil {
		return nil, err
	}
	s := &Sink{opts: *opts, db: db, layout: layout, addr: strings.Join(opts.Addr, ","), o: o, log: o.Logger,
		inserts: map[string]string{}, rows: map[string]uint64{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, t := range schema.Tables() {
		s.inserts[t.Name] = insertSQL(db, t)
	}
	return s, nil
}

var dbNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// DSN parameters of okxtape's own (the driver never sees them).
const (
	ParamCluster   = "cluster"    // cluster name: tables are created ON CLUSTER (see ClusterDDL)
	ParamZKPath    = "zk_path"    // replication path template [DefaultZKPath]
	ParamZKReplica = "zk_replica" // replica name template [{replica}]
)

// ParseDSN returns driver options (connecting without a default database, so the database can be created),
// the database name and the layout named by the cluster parameters of the DSN. It is what the sink and the
// readers use.
func ParseDSN(dsn string, o Options) (*chgo.Options, string, Layout, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, "", Layout{}, errors.New("clickhouse: cannot parse DSN (want clickhouse://host:9000/db)")
	}
	if u.Scheme != "clickhouse" && u.Scheme != "tcp" {
		return nil, "", Layout{}, fmt.Errorf("clickhouse: DSN scheme %q is not supported (want clickhouse://host:9000/db)", u.Scheme)
	}
	params := u.Query()
	l := Layout{Cluster: params.Get(ParamCluster), ZKPath: params.Get(ParamZKPath), Replica: params.Get(ParamZKReplica)}
	for _, p := range []string{ParamCluster, ParamZKPath, ParamZKReplica} {
		params.Del(p)
	}
	if l.Cluster == "" && (l.ZKPath != "" || l.Replica != "") {
		return nil, "", Layout{}, fmt.Errorf("clickhouse: %s and %s need %s=NAME", ParamZKPath, ParamZKReplica, ParamCluster)
	}
	if l.Cluster != "" && !dbNameRe.MatchString(l.Cluster) {
		return nil, "", Layout{}, fmt.Errorf("clickhouse: cluster name %q must match %s", l.Cluster, dbNameRe)
	}
	u.RawQuery = params.Encode()
	opts, err := chgo.ParseDSN(u.String())
	if err != nil {
		return nil, "", Layout{}, fmt.Errorf("clickhouse: bad DSN for %s: %w", u.Host, err)
	}
	db := opts.Auth.Database
	if db == "" {
		db = DefaultDatabase
	}
	if !dbNameRe.MatchString(db) {
		return nil, "", Layout{}, fmt.Errorf("clickhouse: database name %q must match %s", db, dbNameRe)
	}
	opts.Auth.Database = ""
	if opts.Auth.Username == "" {
		opts.Auth.Username = os.Getenv(EnvUser)
	}
	if opts.Auth.Password == "" {
		opts.Auth.Password = os.Getenv(EnvPassword)
	}
	opts.DialTimeout = o.DialTimeout
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	opts.ReadTimeout = o.ReadTimeout
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 60 * time.Second
	}
	if o.NoCompression {
		opts.Compression = nil
	} else if opts.Compression == nil {
		opts.Compression = &chgo.Compression{Method: chgo.CompressionLZ4}
	}
	opts.MaxIdleConns, opts.MaxOpenConns = 1, 2
	return opts, db, l, nil
}

func insertSQL(db string, t *schema.Table) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quoteIdent(c.Name)
	}
	// The driver parses the column list out of "INSERT INTO x (a, b)" to order the block's columns.
	return fmt.Sprintf("INSERT INTO %s.%s (%s)", quoteIdent(db), quoteIdent(t.Name), strings.Join(cols, ", "))
}

// Name implements Sink.
func (s *Sink) Name() string { return "clickhouse" }

// RateBatches implements store.RateBatcher: every insert makes a part on the server, so batches are sized
// for about one insert per table per flush interval.
func (s *Sink) RateBatches() bool { return true }

// Database returns the database the sink writes to.
func (s *Sink) Database() string { return s.db }

// ServerVersion returns the version of the server, known after a successful Open.
func (s *Sink) ServerVersion() ServerVersion { return s.version }

// Open connects, reads the server version, creates the database and every table if missing and checks each
// table's columns and types against the schema. A table that does not match (or a refused login) is a
// store.Permanent error naming the table and columns; a server that cannot be reached is store.Temporary:
// the recorder starts anyway and the next Write tries again, so the spool fills ClickHouse when it appears.
func (s *Sink) Open(ctx context.Context) error {
	if err := s.setup(ctx); err != nil {
		chErrors.WithLabelValues("open").Inc()
		return err
	}
	if len(s.bad) > 0 {
		var errs []error
		for _, t := range schema.Tables() {
			if err := s.bad[t.Name]; err != nil {
				errs = append(errs, err)
			}
		}
		return store.Permanent(fmt.Errorf("clickhouse %s: %w", s.addr, errors.Join(errs...)))
	}
	return nil
}

func (s *Sink) setup(ctx context.Context) error {
	if s.ready {
		return nil
	}
	if s.conn == nil {
		conn, err := chgo.Open(&s.opts)
		if err != nil {
			return classify(fmt.Errorf("clickhouse %s: open: %w", s.addr, err))
		}
		s.conn = conn
	}
	v, err := queryVersion(ctx, s.conn)
	if err != nil {
		return classify(fmt.Errorf("clickhouse %s: %w", s.addr, err))
	}
	s.version = v
	ddlVersion := s.ddlVersion()
	if err := s.conn.Exec(ctx, CreateDatabase(s.db, s.layout)); err != nil {
		return classify(fmt.Errorf("clickhouse %s: create database %s%s: %w", s.addr, s.db, onCluster(s.layout.Cluster), err))
	}
	have, err := s.existingTables(ctx)
	if err != nil {
		return classify(err)
	}
	for _, t := range schema.Tables() {
		stmts := []string{DDL(s.db, t, ddlVersion)}
		if s.layout.Cluster != "" {
			if have[t.Name] && have[t.Name+LocalSuffix] {
				// ON CLUSTER DDL goes through ZooKeeper's queue and waits for every server (about 0.3 s per
				// statement): a restart against a server that has the tables does not repeat it.
				continue
			}
			stmts = ClusterDDL(s.db, t, ddlVersion, s.layout)
		}
		for _, q := range stmts {
			if err := s.conn.Exec(ctx, q); err != nil {
				return classify(fmt.Errorf("clickhouse %s: create table %s.%s%s: %w", s.addr, s.db, t.Name, onCluster(s.layout.Cluster), err))
			}
		}
	}
	bad, err := s.checkSchema(ctx)
	if err != nil {
		return classify(fmt.Errorf("clickhouse %s: %w", s.addr, err))
	}
	s.bad, s.ready, s.checked = bad, true, time.Now()
	for name, err := range bad {
		s.log.Error("clickhouse: table does not match the schema; its batches go to dead-letter files", "table", name, "err", err)
	}
	s.log.Info("clickhouse sink ready", "addr", s.addr, "database", s.db, "server_version", v.String(),
		"modern_ddl", ddlVersion.Modern(), "cluster", s.layout.Cluster, "tables_checked", len(schema.Tables()), "tables_bad", len(bad))
	return nil
}

// ddlVersion is the server version the DDL is written for (18.16 with PlainDDL).
func (s *Sink) ddlVersion() ServerVersion {
	if s.o.PlainDDL {
		return ServerVersion{Major: 18, Minor: 16}
	}
	return s.version
}

// existingTables returns the tables of the sink's database on the server it is connected to.
func (s *Sink) existingTables(ctx context.Context) (map[string]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ?", s.db)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: list tables of %s: %w", s.addr, s.db, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("clickhouse %s: list tables of %s: %w", s.addr, s.db, err)
		}
		have[name] = true
	}
	return have, rows.Err()
}

func queryVersion(ctx context.Context, conn driver.Conn) (ServerVersion, error) {
	var vs string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&vs); err != nil {
		return ServerVersion{}, fmt.Errorf("select version(): %w", err)
	}
	return ParseServerVersion(vs)
}

// Write inserts the batch as one native insert. Any error means the batch was not stored (the recorder
// retries it whole; duplicates collapse by seq).
func (s *Sink) Write(ctx context.Context, b store.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	if b.Table == nil {
		return errors.New("clickhouse: batch without table")
	}
	if err := s.setup(ctx); err != nil {
		chErrors.WithLabelValues("open").Inc()
		return err
	}
	if err := s.badTable(ctx, b.Table); err != nil {
		chErrors.WithLabelValues("insert").Inc()
		return store.Permanent(err)
	}
	start := time.Now()
	if err := s.insert(ctx, b); err != nil {
		chErrors.WithLabelValues("insert").Inc()
		return classify(fmt.Errorf("clickhouse %s: insert %d rows into %s.%s: %w", s.addr, len(b.Events), s.db, b.Table.Name, err))
	}
	chInsertSeconds.WithLabelValues(b.Table.Name).Observe(time.Since(start).Seconds())
	s.mu.Lock()
	s.rows[b.Table.Name] += uint64(len(b.Events))
	s.mu.Unlock()
	return nil
}

func (s *Sink) insert(ctx context.Context, b store.Batch) (err error) {
	query, ok := s.inserts[b.Table.Name]
	if !ok {
		return store.Permanent(fmt.Errorf("unknown table %q", b.Table.Name))
	}
	if s.layout.Cluster != "" {
		// Through the Distributed table, synchronously: the insert returns once every shard has written its
		// rows, so a nil Write is durable as on one server (the default queues them on this server first).
		ctx = chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"insert_distributed_sync": 1}))
	}
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && !batch.IsSent() {
			_ = batch.Abort()
		}
	}()
	if n := len(batch.Columns()); n != len(b.Table.Columns) {
		return store.Permanent(fmt.Errorf("server table has %d insertable columns, schema has %d", n, len(b.Table.Columns)))
	}
	if err := s.w.fill(batch, b); err != nil {
		return store.Permanent(err) // a row that does not fit its column never will
	}
	return batch.Send()
}

// Pending implements Sink: inserts are synchronous, so nothing accepted is ever pending.
func (s *Sink) Pending() (uint64, bool) { return 0, false }

// Flush implements Sink; there is nothing buffered.
func (s *Sink) Flush(context.Context) error { return nil }

// Close releases the connections.
func (s *Sink) Close(context.Context) error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn, s.ready = nil, false
	return err
}

// Stats implements store.StatsReporter.
func (s *Sink) Stats() store.SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := make(map[string]uint64, len(s.rows))
	for k, v := range s.rows {
		rows[k] = v
	}
	return store.SinkStats{Rows: rows}
}

// chColumns is the RowWriter that turns a batch into column slices, appended to the driver's block one column
// at a time (no reflection or boxing per row for scalar columns). Buffers are reused across batches.
type chColumns struct {
	cols  []chColumn
	batch driver.Batch
	i     int // next column of the current row
	err   error
}

type chColumn struct {
	typ    schema.Type
	ints   []int64
	floats []float64
	strs   []string
	bools  []uint8
}

func (w *chColumns) fill(batch driver.Batch, b store.Batch) error {
	t := b.Table
	if cap(w.cols) < len(t.Columns) {
		w.cols = make([]chColumn, len(t.Columns))
	}
	w.cols = w.cols[:len(t.Columns)]
	for i := range w.cols {
		c := &w.cols[i]
		c.typ = t.Columns[i].Type
		c.ints, c.floats, c.strs, c.bools = c.ints[:0], c.floats[:0], c.strs[:0], c.bools[:0]
	}
	w.batch, w.err = batch, nil
	defer func() {
		w.batch = nil
		for i := range w.cols {
			clear(w.cols[i].strs) // do not keep the recorder's strings alive
		}
	}()
	for _, e := range b.Events {
		if e.Kind() != t.Kind {
			return fmt.Errorf("%s event in a %s batch", e.Kind(), t.Name)
		}
		w.i = 0
		e.WriteRow(w)
		if w.err != nil {
			return w.err
		}
		if w.i != len(w.cols) {
			return fmt.Errorf("%s row wrote %d of %d columns", t.Name, w.i, len(w.cols))
		}
	}
	for i := range w.cols {
		c := &w.cols[i]
		var v any
		switch c.typ {
		case schema.Int64, schema.TimeMs, schema.TimeNs:
			v = c.ints
		case schema.Float64:
			v = c.floats
		case schema.String:
			v = c.strs
		case schema.Bool:
			v = c.bools
		default:
			continue // lists were appended row by row
		}
		if err := batch.Column(i).Append(v); err != nil {
			return fmt.Errorf("column %s: %w", t.Columns[i].Name, err)
		}
	}
	return nil
}

// col returns the next column if it has one of the wanted types, or nil after recording an error.
func (w *chColumns) col(want schema.Type) *chColumn {
	if w.err != nil {
		return nil
	}
	if w.i >= len(w.cols) {
		w.err = fmt.Errorf("row writes more than %d columns", len(w.cols))
		return nil
	}
	c := &w.cols[w.i]
	ok := c.typ == want || (want == schema.Int64 && (c.typ == schema.TimeMs || c.typ == schema.TimeNs))
	if !ok {
		w.err = fmt.Errorf("column %d is %s, row wrote %s", w.i, c.typ, want)
		return nil
	}
	w.i++
	return c
}

func (w *chColumns) Int64(v int64) {
	if c := w.col(schema.Int64); c != nil {
		c.ints = append(c.ints, v)
	}
}

func (w *chColumns) Float64(v float64) {
	if c := w.col(schema.Float64); c != nil {
		c.floats = append(c.floats, v)
	}
}

func (w *chColumns) String(v string) {
	if c := w.col(schema.String); c != nil {
		c.strs = append(c.strs, v)
	}
}

func (w *chColumns) Bool(v bool) {
	if c := w.col(schema.Bool); c != nil {
		var b uint8
		if v {
			b = 1
		}
		c.bools = append(c.bools, b)
	}
}

func (w *chColumns) Float64s(v []float64) {
	i := w.i
	if c := w.col(schema.Float64List); c != nil {
		if v == nil {
			v = []float64{}
		}
		if err := w.batch.Column(i).AppendRow(v); err != nil {
			w.err = err
		}
	}
}

func (w *chColumns) Int64s(v []int64) {
	i := w.i
	if c := w.col(schema.Int64List); c != nil {
		if v == nil {
			v = []int64{}
		}
		if err := w.batch.Column(i).AppendRow(v); err != nil {
			w.err = err
		}
	}
}
