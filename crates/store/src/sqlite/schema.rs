//! Opening the database and its schema.

use std::path::Path;

use rusqlite::Connection;

use crate::types::Revision;
use crate::StoreError;

/// `log` holds every write (its value included); `live` says which log row is each key's
/// current value. A value is written once per revision, in the log, and never again in a
/// second table (where rows past a kilobyte would spill into overflow pages rewritten on
/// every update).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    kind INTEGER NOT NULL,
    value BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER
);
CREATE TABLE IF NOT EXISTS live (
    key TEXT PRIMARY KEY,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('rev', 0), ('compacted', 0);
";

/// Databases written before `live` kept each current value in `kv`: their values move into
/// the log (where compaction may have removed them; such rows are at or below the compacted
/// revision, so no watch replays them) and `kv` goes, in one transaction.
const MIGRATE_KV: &str = "
BEGIN IMMEDIATE;
INSERT OR IGNORE INTO log (rev, key, kind, value, create_rev, prev_rev)
    SELECT mod_rev, key, CASE WHEN create_rev = mod_rev THEN 0 ELSE 1 END, value, create_rev, NULL FROM kv;
INSERT INTO live (key, create_rev, mod_rev) SELECT key, create_rev, mod_rev FROM kv;
DROP TABLE kv;
COMMIT;
";

/// The current value of a key.
pub(super) const GET: &str = "SELECT l.value, v.create_rev, v.mod_rev FROM live v JOIN log l ON l.rev = v.mod_rev
    WHERE v.key = ?1";

/// Keys and current values in a range, in key order: from ?1 (inclusive) to ?2, at most ?3.
pub(super) const RANGE_FROM: &str = "SELECT v.key, l.value, v.create_rev, v.mod_rev
    FROM live v JOIN log l ON l.rev = v.mod_rev WHERE v.key >= ?1 AND v.key < ?2 ORDER BY v.key LIMIT ?3";

/// As [`RANGE_FROM`], from ?1 exclusive.
pub(super) const RANGE_AFTER: &str = "SELECT v.key, l.value, v.create_rev, v.mod_rev
    FROM live v JOIN log l ON l.rev = v.mod_rev WHERE v.key > ?1 AND v.key < ?2 ORDER BY v.key LIMIT ?3";

/// Compaction: the history at or below ?1, except the rows that hold current values.
pub(super) const COMPACT: &str = "DELETE FROM log WHERE rev <= ?1
    AND NOT EXISTS (SELECT 1 FROM live v WHERE v.key = log.key AND v.mod_rev = log.rev)";

/// Opens a connection with the pragmas skiff relies on and makes sure the schema exists.
pub(super) fn open(path: &Path, durable: bool) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.execute_batch(SCHEMA)?;
    let has_kv: bool =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'kv'", [], |r| r.get(0))?;
    if has_kv {
        if let Err(e) = conn.execute_batch(MIGRATE_KV) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
    }
    Ok(conn)
}

/// The current revision: the newest logged write, or the compacted revision when compaction
/// removed every row of the log. Commits do not record it elsewhere (one page fewer to write
/// per commit); `meta.rev` is what databases written before that recorded, still counted.
pub(super) const CURRENT_REVISION: &str = "SELECT max(
    ifnull((SELECT max(rev) FROM log), 0),
    (SELECT value FROM meta WHERE name = 'compacted'),
    (SELECT value FROM meta WHERE name = 'rev'))";

/// The current and compacted revisions.
pub(super) fn revisions(conn: &Connection) -> Result<(Revision, Revision), StoreError> {
    let rev = conn.query_row(CURRENT_REVISION, [], |r| r.get(0))?;
    let compacted = conn.query_row("SELECT value FROM meta WHERE name = 'compacted'", [], |r| r.get(0))?;
    Ok((rev, compacted))
}
