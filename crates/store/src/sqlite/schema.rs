//! Opening the database and its schema.

use std::path::Path;

use rusqlite::Connection;

use crate::types::Revision;
use crate::StoreError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    kind INTEGER NOT NULL,
    value BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('rev', 0), ('compacted', 0);
";

/// Opens a connection with the pragmas skiff relies on and makes sure the schema exists.
pub(super) fn open(path: &Path, durable: bool) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// The current and compacted revisions recorded in `meta`.
pub(super) fn revisions(conn: &Connection) -> Result<(Revision, Revision), StoreError> {
    let rev = conn.query_row("SELECT value FROM meta WHERE name = 'rev'", [], |r| r.get(0))?;
    let compacted = conn.query_row("SELECT value FROM meta WHERE name = 'compacted'", [], |r| r.get(0))?;
    Ok((rev, compacted))
}
