//! Records as the console reads them: the query filters and statistics of
//! `shiren_records`, answered in SQL with the same results as `InMemoryRecords` — the
//! same page, order and cursor; the same statistics, grouped by the database.
//!
//! Each record row carries, beside its JSON body, the columns the filters need
//! (migration 3): scene, product, passed, sub code, outer order number, the keyed
//! ID-number digest (cleared with the personal data, as the in-memory index is),
//! creation time in nanoseconds (the cursor's unit) and the creation day in
//! [`RECORDS_ZONE`]. They are written from the record in the same statement as its
//! body, and every row read back is checked against its body (`StoreError::Corrupt`
//! when a column disagrees), so a tampered column never returns a wrong record.

use chrono::{DateTime, Days, NaiveDate, Utc};
use shiren_catalog::{AccountId, BillingZone, ProductCode, SolutionTab};
use shiren_records::{
    Counts, Cursor, DayStats, IdDigest, Identifier, MAX_PAGE, Page, Query, RETENTION, Record, RecordError,
    Statistics, StatsRange,
};
use shiren_scene::SceneId;
use shiren_verify::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::params::{Param, Params};
use crate::store::{SqlStore, corrupt, db, to_json};

/// The zone whose natural days statistics count (the console's UTC+8), as
/// `InMemoryRecords::new(key, BillingZone::CHINA)` counts them.
pub const RECORDS_ZONE: BillingZone = BillingZone::CHINA;

/// An instant in nanoseconds since the epoch, as the cursor writes it (saturating
/// outside ±292 years, as the cursor does).
pub(crate) fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() > 0 { i64::MAX } else { i64::MIN })
}

/// A day as a number (days from the Common Era).
fn day_number(day: NaiveDate) -> i64 {
    i64::from(chrono::Datelike::num_days_from_ce(&day))
}

fn digest_hex(digest: &IdDigest) -> Result<String, StoreError> {
    // IdDigest serializes as its 64 hex characters.
    let text = to_json(digest)?;
    Ok(text.trim_matches('"').to_owned())
}

/// The filter columns of a record.
pub(crate) struct Columns {
    scene: i64,
    product: &'static str,
    passed: i64,
    sub_code: i64,
    outer_order_no: String,
    id_digest: Option<String>,
    created_ns: i64,
    created_day: i64,
}

impl Columns {
    pub(crate) fn of(record: &Record) -> Result<Columns, StoreError> {
        let id_digest = match record.personal.as_ref().and_then(|p| p.id_number_digest.as_ref()) {
            Some(d) => Some(digest_hex(d)?),
            None => None,
        };
        Ok(Columns {
            scene: i64::try_from(record.scene_id.get()).map_err(|_| {
                StoreError::Inconsistent(format!("scene ID {} out of range", record.scene_id.get()))
            })?,
            product: record.product.as_str(),
            passed: i64::from(record.passed),
            sub_code: i64::from(record.sub_code.code()),
            outer_order_no: record.outer_order_no.as_str().to_owned(),
            id_digest,
            created_ns: nanos(record.created_at),
            created_day: day_number(RECORDS_ZONE.day_of(record.created_at)),
        })
    }
}

/// Inserts a record with its filter columns; `Ok(false)` when its certify ID exists.
pub(crate) async fn insert_record(
    tx: &mut Transaction<'static, Any>,
    record: &Record,
) -> Result<bool, StoreError> {
    let mut params = Params::default();
    let sql = format!("INSERT INTO records ({RECORD_COLUMNS}) VALUES {}", params.rows([record_row(record)?]));
    match params.bind(&sql).execute(&mut **tx).await {
        Ok(_) => Ok(true),
        Err(e) if crate::store::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(db(e)),
    }
}

/// The columns of a record row, in [`record_row`]'s order.
pub(crate) const RECORD_COLUMNS: &str = "certify_id, account, completed_at, body, scene, product, passed, \
     sub_code, outer_order_no, id_digest, created_ns, created_day";

/// A record's row: its key columns, its body and its filter columns.
pub(crate) fn record_row(record: &Record) -> Result<Vec<Param>, StoreError> {
    let c = Columns::of(record)?;
    Ok(vec![
        Param::Text(record.certify_id.to_string()),
        Param::Text(record.account.as_str().to_owned()),
        Param::Int(crate::store::micros(record.completed_at)),
        Param::Text(to_json(record)?),
        Param::Int(c.scene),
        Param::Text(c.product.to_owned()),
        Param::Int(c.passed),
        Param::Int(c.sub_code),
        Param::Text(c.outer_order_no),
        Param::MaybeText(c.id_digest),
        Param::Int(c.created_ns),
        Param::Int(c.created_day),
    ])
}

/// Rewrites a record's body and its filter columns (read flag, erased personal data).
pub(crate) async fn update_record(
    tx: &mut Transaction<'static, Any>,
    record: &Record,
) -> Result<(), StoreError> {
    let c = Columns::of(record)?;
    sqlx::query("UPDATE records SET body = $1, id_digest = $2 WHERE certify_id = $3")
        .bind(to_json(record)?)
        .bind(c.id_digest)
        .bind(record.certify_id.to_string())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// Fills the filter columns of every record from its body (migration 3, for rows
/// written by schema 1 or 2). A body that does not parse fails the migration: the
/// database stays at its version, and nothing is misread.
pub(crate) async fn backfill(tx: &mut Transaction<'static, Any>) -> Result<(), sqlx::Error> {
    let rows = sqlx::query("SELECT certify_id, body FROM records").fetch_all(&mut **tx).await?;
    let invalid =
        |id: &str, why: String| sqlx::Error::Protocol(format!("record {id} cannot be migrated: {why}"));
    for row in rows {
        let id: String = row.try_get(0)?;
        let body: String = row.try_get(1)?;
        let record: Record = serde_json::from_str(&body).map_err(|e| invalid(&id, e.to_string()))?;
        let c = Columns::of(&record).map_err(|e| invalid(&id, e.to_string()))?;
        sqlx::query(
            "UPDATE records SET scene = $1, product = $2, passed = $3, sub_code = $4, outer_order_no = $5, \
             id_digest = $6, created_ns = $7, created_day = $8 WHERE certify_id = $9",
        )
        .bind(c.scene)
        .bind(c.product)
        .bind(c.passed)
        .bind(c.sub_code)
        .bind(c.outer_order_no)
        .bind(c.id_digest)
        .bind(c.created_ns)
        .bind(c.created_day)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The columns a query reads: the key columns, the body and the filter columns.
const INDEXED_COLUMNS: &str = "certify_id, account, body, scene, product, passed, sub_code, outer_order_no, \
                              id_digest, created_ns, created_day";

/// A record read with its filter columns, each checked against the body.
fn indexed_record_of(row: &AnyRow) -> Result<Record, StoreError> {
    let record = crate::store::record_of(row)?;
    let stored = Columns {
        scene: row.try_get("scene").map_err(db)?,
        product: "",
        passed: row.try_get("passed").map_err(db)?,
        sub_code: row.try_get("sub_code").map_err(db)?,
        outer_order_no: row.try_get("outer_order_no").map_err(db)?,
        id_digest: row.try_get("id_digest").map_err(db)?,
        created_ns: row.try_get("created_ns").map_err(db)?,
        created_day: row.try_get("created_day").map_err(db)?,
    };
    let product: String = row.try_get("product").map_err(db)?;
    let c = Columns::of(&record)?;
    if (stored.scene, stored.passed, stored.sub_code, stored.created_ns, stored.created_day)
        != (c.scene, c.passed, c.sub_code, c.created_ns, c.created_day)
        || product != c.product
        || stored.outer_order_no != c.outer_order_no
        || stored.id_digest != c.id_digest
    {
        return Err(corrupt(
            format_args!("record {}", record.certify_id),
            "its filter columns disagree with its document",
        ));
    }
    Ok(record)
}

/// A bound value of a built query.
enum Value {
    Int(i64),
    Text(String),
}

fn cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_signed(RETENTION).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The (creation nanoseconds, certify ID) a cursor holds.
fn cursor_key(cursor: &Cursor) -> Result<(i64, String), StoreError> {
    // The cursor's text is `<nanoseconds>.<certify ID>` (its only public form).
    let text = cursor.to_string();
    let (ns, id) =
        text.split_once('.').ok_or_else(|| StoreError::Inconsistent("a cursor without a dot".into()))?;
    let ns = ns.parse().map_err(|_| StoreError::Inconsistent("a cursor's time".into()))?;
    Ok((ns, id.to_owned()))
}

fn cursor_of(record: &Record) -> Result<Cursor, StoreError> {
    format!("{}.{}", nanos(record.created_at), record.certify_id)
        .parse()
        .map_err(|e| StoreError::Inconsistent(format!("{e}")))
}

fn series(day: &mut DayStats, tab: SolutionTab) -> &mut Counts {
    match tab {
        SolutionTab::RealPerson => &mut day.real_person,
        SolutionTab::LivenessFaceVerification => &mut day.liveness_face_verification,
        SolutionTab::LivenessDetection => &mut day.liveness_detection,
        SolutionTab::FaceComparison => &mut day.face_comparison,
    }
}

impl SqlStore {
    /// One page of the account's records matching `query`, newest first — the same
    /// page, order and cursor as `InMemoryRecords::query` (`RecordStore::query`):
    /// records created within the 180-day retention, every filter applied, ordered by
    /// (creation time, certify ID) descending; `next` is set when more follow.
    /// A page size above 100 is `RecordError::Limit`.
    pub fn query_records(
        &self,
        account: AccountId,
        query: &Query,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError> {
        let limit = match query.limit {
            0 => 20,
            n if n > MAX_PAGE => return Err(RecordError::Limit(n).into()),
            n => n,
        };
        let mut sql =
            format!("SELECT {INDEXED_COLUMNS} FROM records WHERE account = $1 AND created_ns >= $2");
        let mut values = vec![Value::Text(account.as_str().to_owned()), Value::Int(nanos(cutoff(now)))];
        let mut and = |condition: &str, value: Value, values: &mut Vec<Value>| {
            values.push(value);
            sql.push_str(&condition.replace('?', &format!("${}", values.len())));
        };
        if let Some(scene) = query.scene {
            let scene = i64::try_from(scene.get()).unwrap_or(i64::MAX);
            and(" AND scene = ?", Value::Int(scene), &mut values);
        }
        if let Some(product) = query.product {
            and(" AND product = ?", Value::Text(product.as_str().to_owned()), &mut values);
        }
        if let Some(passed) = query.passed {
            and(" AND passed = ?", Value::Int(i64::from(passed)), &mut values);
        }
        if let Some(code) = query.sub_code {
            and(" AND sub_code = ?", Value::Int(i64::from(code.code())), &mut values);
        }
        if let Some(from) = query.from {
            and(" AND created_ns >= ?", Value::Int(nanos(from)), &mut values);
        }
        if let Some(to) = query.to {
            and(" AND created_ns < ?", Value::Int(nanos(to)), &mut values);
        }
        match &query.identifier {
            None => {}
            Some(Identifier::CertifyId(id)) => {
                and(" AND certify_id = ?", Value::Text(id.to_string()), &mut values)
            }
            Some(Identifier::OuterOrderNo(no)) => {
                and(" AND outer_order_no = ?", Value::Text(no.as_str().to_owned()), &mut values)
            }
            Some(Identifier::IdNumber(number)) => {
                let digest = digest_hex(&self.digest_key().digest(number))?;
                and(" AND id_digest = ?", Value::Text(digest), &mut values);
            }
        }
        if let Some(cursor) = &query.after {
            let (ns, id) = cursor_key(cursor)?;
            and(" AND (created_ns < ?", Value::Int(ns), &mut values);
            and(" OR (created_ns = ?", Value::Int(ns), &mut values);
            and(" AND certify_id < ?))", Value::Text(id), &mut values);
        }
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        and(" ORDER BY created_ns DESC, certify_id DESC LIMIT ?", Value::Int(fetch), &mut values);
        let pool = self.reader.clone();
        let mut records = self.exec.run(async move {
            let mut q = sqlx::query(&sql);
            for value in values {
                q = match value {
                    Value::Int(n) => q.bind(n),
                    Value::Text(t) => q.bind(t),
                };
            }
            let rows = q.fetch_all(&pool).await.map_err(db)?;
            rows.iter().map(indexed_record_of).collect::<Result<Vec<Record>, StoreError>>()
        })?;
        if records.iter().any(|r| r.account != account) {
            return Err(corrupt("records", "a row of another account matched"));
        }
        let more = records.len() > limit;
        records.truncate(limit);
        let next = match (more, records.last()) {
            (true, Some(last)) => Some(cursor_of(last)?),
            _ => None,
        };
        Ok(Page { records, next })
    }

    /// Statistics of one scene over a range of days — the same figures as
    /// `InMemoryRecords::statistics`: per day of [`RECORDS_ZONE`], the stored records
    /// (days before the retention's first day are zeros), counted with one `GROUP BY`
    /// over the scene's index, never by loading records.
    pub fn statistics(
        &self,
        account: AccountId,
        scene: SceneId,
        range: StatsRange,
        now: DateTime<Utc>,
    ) -> Result<Statistics, StoreError> {
        let (from, to) = range.days(RECORDS_ZONE.day_of(now)).map_err(RecordError::from)?;
        let first_kept = RECORDS_ZONE.day_of(cutoff(now));
        let scene_number = i64::try_from(scene.get()).unwrap_or(i64::MAX);
        let (low, high) = (day_number(from.max(first_kept)), day_number(to));
        let pool = self.reader.clone();
        let groups = self.exec.run(async move {
            let rows = sqlx::query(
                "SELECT created_day, product, passed, COUNT(*) FROM records \
                 WHERE account = $1 AND scene = $2 AND created_day >= $3 AND created_day <= $4 \
                 GROUP BY created_day, product, passed",
            )
            .bind(account.as_str().to_owned())
            .bind(scene_number)
            .bind(low)
            .bind(high)
            .fetch_all(&pool)
            .await
            .map_err(db)?;
            rows.iter()
                .map(|row| {
                    let day: i64 = row.try_get(0).map_err(db)?;
                    let product: String = row.try_get(1).map_err(db)?;
                    let passed: i64 = row.try_get(2).map_err(db)?;
                    let n: i64 = row.try_get(3).map_err(db)?;
                    Ok((day, product, passed, n))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let mut daily = Vec::new();
        let mut day = from;
        while day <= to {
            daily.push((day, DayStats::default()));
            match day.checked_add_days(Days::new(1)) {
                Some(next) => day = next,
                None => break,
            }
        }
        for (day, product, passed, n) in groups {
            let product: ProductCode = product.parse().map_err(|e| corrupt("records", e))?;
            let n = u64::try_from(n).map_err(|_| corrupt("records", "a negative count"))?;
            let Some((_, stats)) = daily.iter_mut().find(|(d, _)| day_number(*d) == day) else {
                return Err(corrupt("records", "a day outside the range grouped"));
            };
            let counts = series(stats, product.tab());
            let slot = if passed != 0 { &mut counts.passed } else { &mut counts.failed };
            *slot = slot.checked_add(n).ok_or_else(|| corrupt("records", "a count overflows"))?;
        }
        let mut totals = Counts::default();
        let mut compare_count = 0u64;
        for (_, d) in &daily {
            let t = d.total();
            totals.passed = totals.passed.saturating_add(t.passed);
            totals.failed = totals.failed.saturating_add(t.failed);
            compare_count = compare_count.saturating_add(d.face_comparison.submissions());
        }
        Ok(Statistics {
            from,
            to,
            totals,
            submissions: totals.submissions(),
            pass_rate: totals.pass_rate(),
            compare_count,
            daily,
        })
    }

    /// Removes records created more than 180 days (`shiren_records::RETENTION`) before
    /// `now`, as `RecordStore::purge` does; returns how many. Their usage keys stay in
    /// `usage_events` (the exactly-once set outlives the records), so after a purge
    /// records ≤ usage keys.
    pub fn purge_records(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        let before = nanos(cutoff(now));
        self.exec.run(async move {
            let done = sqlx::query("DELETE FROM records WHERE created_ns < $1")
                .bind(before)
                .execute(&pool)
                .await
                .map_err(db)?;
            Ok(done.rows_affected())
        })
    }
}
