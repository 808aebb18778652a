// Runs one SQL statement in an in-memory DuckDB and prints the rows as a JSON array (used by tests that
// check our Parquet files with an engine that is not ours). Usage: node scripts/duckdb/query.mjs "SQL" [--rows]
// With --rows each row is an array in column order instead of an object.
import { DuckDBInstance } from '@duckdb/node-api';
const sql = process.argv[2];
const inst = await DuckDBInstance.create(':memory:');
const conn = await inst.connect();
const reader = await conn.runAndReadAll(sql);
console.log(JSON.stringify(process.argv[3] === '--rows' ? reader.getRowsJson() : reader.getRowObjectsJson()));
