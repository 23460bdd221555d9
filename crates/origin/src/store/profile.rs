//! Profile fragments in SQLite: each `(dataset, identity)` fragment stored whole and joined
//! with every update (the core's CRDT merge), inside the caller's transaction.

use edgecdp_core::identity::IdentityKey;
use edgecdp_core::profile::Fragment;
use edgecdp_core::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// Merges an update into the stored fragment of its dataset and identity.
pub(super) fn merge_fragment(conn: &Connection, update: &Fragment, now: Timestamp) -> Result<(), StoreError> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT attrs FROM fragments WHERE dataset = ?1 AND ns = ?2 AND id = ?3")?
        .query_row(params![update.dataset, update.identity.ns, update.identity.id], |r| r.get(0))
        .optional()?;
    let merged = match stored {
        Some(json) => {
            let mut f = Fragment {
                dataset: update.dataset.clone(),
                identity: update.identity.clone(),
                attrs: serde_json::from_str(&json)?,
            };
            f.merge(update);
            f
        }
        None => update.clone(),
    };
    conn.prepare_cached(
        "INSERT INTO fragments (dataset, ns, id, attrs, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (dataset, ns, id) DO UPDATE SET attrs = ?4, updated_at = ?5",
    )?
    .execute(params![
        merged.dataset,
        merged.identity.ns,
        merged.identity.id,
        serde_json::to_string(&merged.attrs)?,
        now.millis()
    ])?;
    Ok(())
}

/// Every stored fragment of the given identities.
pub(super) fn fragments_of(conn: &Connection, identities: &[IdentityKey]) -> Result<Vec<Fragment>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT dataset, attrs FROM fragments WHERE ns = ?1 AND id = ?2 ORDER BY dataset")?;
    let mut out = Vec::new();
    for k in identities {
        for row in stmt.query_map(params![k.ns, k.id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (dataset, attrs) = row?;
            out.push(Fragment { dataset, identity: k.clone(), attrs: serde_json::from_str(&attrs)? });
        }
    }
    Ok(out)
}
