// Runs SQL statements in a fresh embedded ClickHouse (chDB) and prints one JSON result per statement:
// {"ok":true,"out":"..."} or {"ok":false,"error":"..."}. Input on stdin: a JSON array of
// {"sql": "...", "mode": "exec" | "parse"}; "parse" only parses (EXPLAIN AST), for text such as ON CLUSTER DDL
// that needs a cluster chDB does not have. Usage: node scripts/chdb/ddlcheck.mjs < statements.json
import { Session } from 'chdb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const stmts = JSON.parse(readFileSync(0, 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'okxtape-chdb-'));
const session = new Session(dir);
const out = [];
for (const s of stmts) {
  try {
    const sql = s.mode === 'parse' ? 'EXPLAIN AST ' + s.sql : s.sql;
    out.push({ ok: true, out: session.query(sql, 'TSV') });
  } catch (e) {
    out.push({ ok: false, error: String(e.message || e) });
  }
}
session.cleanup();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(out));
