//! Durable storage behind one seam: ordered key-value tables in transactions, on redb (the
//! embedded default) or PostgreSQL. The rest of `store` speaks these types only, shaped like
//! redb's own (`open_table`, `get`, `range`, `retain_in`, guards with `value()`), so a rule is
//! written once and runs on either engine. Keys and values keep redb's typed encodings; an
//! engine that compares keys as bytes gets them in an order-preserving form (`OrderedKey`).

mod pg;

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

pub use redb::{Key, TableDefinition, TableHandle, Value};
use redb::{ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _};

use super::StoreError;

/// A fresh database on the test process's throwaway cluster (`None` outside CI without one).
#[cfg(test)]
pub(crate) use self::pg::cluster::fresh_database;
use self::pg::Row;
pub(crate) use self::pg::{on_blocking_thread, PgDatabase, Wake};

/// The database a store runs on.
pub enum Engine {
    Redb(redb::Database),
    Postgres(Box<PgDatabase>),
}

/// Rows a PostgreSQL scan fetches at a time: a range is read in pages, never whole.
const PAGE: usize = 2048;

/// A table's name as a `'static` string (one of the PostgreSQL engine's `TABLES`).
pub(crate) fn static_name<K: Key + 'static, V: Value + 'static>(
    def: &TableDefinition<'static, K, V>,
) -> Result<&'static str, StoreError> {
    pg::TABLES
        .iter()
        .copied()
        .find(|n| *n == def.name())
        .ok_or_else(|| StoreError::Corrupt(format!("no table {} in this schema", def.name())))
}

impl Engine {
    pub fn begin_write(&self) -> Result<WriteTransaction<'_>, StoreError> {
        Ok(WriteTransaction(match self {
            Self::Redb(db) => WriteInner::Redb(db.begin_write()?),
            Self::Postgres(db) => WriteInner::Pg(db.begin_write()?),
        }))
    }

    pub fn begin_read(&self) -> Result<ReadTransaction<'_>, StoreError> {
        Ok(ReadTransaction(match self {
            Self::Redb(db) => ReadInner::Redb(db.begin_read()?),
            Self::Postgres(db) => ReadInner::Pg(db.begin_read()?),
        }))
    }

    /// Close the database, reporting what a drop would swallow (a backup's last write).
    pub fn close(self) -> Result<(), StoreError> {
        match self {
            Self::Redb(db) => Ok(db.close()?),
            Self::Postgres(_) => Ok(()),
        }
    }
}

pub struct WriteTransaction<'db>(WriteInner<'db>);

// A transaction lives on the stack for one operation: boxing either side would cost an
// allocation per transaction to save a few hundred bytes for that moment.
#[allow(clippy::large_enum_variant)]
enum WriteInner<'db> {
    Redb(redb::WriteTransaction),
    Pg(pg::PgTx<'db>),
}

impl WriteTransaction<'_> {
    pub fn open_table<K: OrderedKey, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Table<'_, K, V>, StoreError> {
        Ok(Table(match &self.0 {
            WriteInner::Redb(tx) => TableInner::Redb(tx.open_table(def)?),
            WriteInner::Pg(tx) => TableInner::Pg(tx, static_name(&def)?),
        }))
    }

    /// Drop a table of an older schema (migrations).
    pub fn delete_table<K: OrderedKey, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError> {
        match &self.0 {
            WriteInner::Redb(tx) => {
                tx.delete_table(def)?;
                Ok(())
            }
            // A PostgreSQL database starts at the current schema: no older table to drop.
            WriteInner::Pg(_) => Err(StoreError::Corrupt(format!(
                "the table {} belongs to an older schema",
                def.name()
            ))),
        }
    }

    pub fn commit(self) -> Result<(), StoreError> {
        self.commit_numbered().map(drop)
    }

    /// On PostgreSQL, the change sequence when this transaction took the cluster's write lock
    /// (`None` on redb, whose one process sees every commit).
    pub fn begun_at(&self) -> Option<u64> {
        match &self.0 {
            WriteInner::Redb(_) => None,
            WriteInner::Pg(tx) => tx.begun_at(),
        }
    }

    /// Commit; on PostgreSQL, the change-feed number this commit was recorded under (`None`
    /// on redb, or when no watched table changed).
    pub fn commit_numbered(self) -> Result<Option<u64>, StoreError> {
        match self.0 {
            WriteInner::Redb(tx) => {
                tx.commit()?;
                Ok(None)
            }
            WriteInner::Pg(tx) => tx.commit(),
        }
    }
}

pub struct ReadTransaction<'db>(ReadInner<'db>);

#[allow(clippy::large_enum_variant)] // as for `WriteInner`
enum ReadInner<'db> {
    Redb(redb::ReadTransaction),
    Pg(pg::PgTx<'db>),
}

impl ReadTransaction<'_> {
    /// The names of the tables the database holds.
    #[cfg(test)]
    pub fn table_names(&self) -> Result<Vec<String>, StoreError> {
        match &self.0 {
            ReadInner::Redb(tx) => Ok(tx.list_tables()?.map(|t| t.name().to_owned()).collect()),
            ReadInner::Pg(_) => Ok(pg::TABLES.iter().map(|n| (*n).to_owned()).collect()),
        }
    }

    pub fn open_table<K: OrderedKey, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<ReadOnlyTable<'_, K, V>, StoreError> {
        Ok(ReadOnlyTable(match &self.0 {
            ReadInner::Redb(tx) => ReadOnlyInner::Redb(tx.open_table(def)?, PhantomData),
            ReadInner::Pg(tx) => ReadOnlyInner::Pg(tx, static_name(&def)?),
        }))
    }
}

/// A stored key or value, read back.
pub struct AccessGuard<'a, V: Value + 'static>(GuardInner<'a, V>);

enum GuardInner<'a, V: Value + 'static> {
    Redb(redb::AccessGuard<'a, V>),
    Owned(Vec<u8>, PhantomData<V>),
}

impl<V: Value + 'static> AccessGuard<'_, V> {
    fn owned(bytes: Vec<u8>) -> Self {
        Self(GuardInner::Owned(bytes, PhantomData))
    }
}

impl<V: Value + 'static> AccessGuard<'_, V> {
    pub fn value(&self) -> V::SelfType<'_> {
        match &self.0 {
            GuardInner::Redb(g) => g.value(),
            GuardInner::Owned(bytes, _) => V::from_bytes(bytes),
        }
    }
}

impl<'a, V: Value + 'static> From<redb::AccessGuard<'a, V>> for AccessGuard<'a, V> {
    fn from(g: redb::AccessGuard<'a, V>) -> Self {
        Self(GuardInner::Redb(g))
    }
}

type Entry<'a, K, V> = (AccessGuard<'a, K>, AccessGuard<'a, V>);

/// Rows of a table in key order, from either end.
pub struct Range<'a, K: Key + 'static, V: Value + 'static>(RangeInner<'a, K, V>);

enum RangeInner<'a, K: Key + 'static, V: Value + 'static> {
    Redb(redb::Range<'a, K, V>),
    Pg(Pages<'a>, PhantomData<(K, V)>),
}

impl<'a, K: OrderedKey, V: Value + 'static> Iterator for Range<'a, K, V> {
    type Item = Result<Entry<'a, K, V>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            RangeInner::Redb(r) => r
                .next()
                .map(|row| row.map(|(k, v)| (k.into(), v.into())).map_err(Into::into)),
            RangeInner::Pg(p, _) => p.next(false).map(|row| row.and_then(owned_entry::<K, V>)),
        }
    }
}

impl<K: OrderedKey, V: Value + 'static> DoubleEndedIterator for Range<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            RangeInner::Redb(r) => r
                .next_back()
                .map(|row| row.map(|(k, v)| (k.into(), v.into())).map_err(Into::into)),
            RangeInner::Pg(p, _) => p.next(true).map(|row| row.and_then(owned_entry::<K, V>)),
        }
    }
}

/// The first or last row of a PostgreSQL table: one row fetched, not a page.
fn edge<'a, K: OrderedKey, V: Value + 'static>(
    tx: &pg::PgTx<'_>,
    table: &'static str,
    last: bool,
) -> Result<Option<Entry<'a, K, V>>, StoreError> {
    tx.scan(table, Bound::Unbounded, Bound::Unbounded, last, 1)?
        .into_iter()
        .next()
        .map(owned_entry::<K, V>)
        .transpose()
}

/// A row as an engine of ordered bytes returns it, as guards that read like redb's.
fn owned_entry<'a, K: OrderedKey, V: Value + 'static>(
    (k, v): (Vec<u8>, Vec<u8>),
) -> Result<Entry<'a, K, V>, StoreError> {
    Ok((
        AccessGuard::owned(from_ordered::<K>(&k)?),
        AccessGuard::owned(v),
    ))
}

/// A PostgreSQL range read a page at a time from either end. Each fetch moves its end's
/// bound past what it returned, so the two ends never hand out a row twice.
pub struct Pages<'a> {
    tx: &'a pg::PgTx<'a>,
    table: &'static str,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    /// Fetched from the low end, ascending.
    front: VecDeque<Row>,
    /// Fetched from the high end, descending.
    back: VecDeque<Row>,
    /// Nothing is left between the bounds.
    drained: bool,
    failed: bool,
}

impl<'a> Pages<'a> {
    fn new(
        tx: &'a pg::PgTx<'a>,
        table: &'static str,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
    ) -> Self {
        Self {
            tx,
            table,
            lo,
            hi,
            front: VecDeque::new(),
            back: VecDeque::new(),
            drained: false,
            failed: false,
        }
    }

    fn next(&mut self, from_back: bool) -> Option<Result<Row, StoreError>> {
        if self.failed {
            return None;
        }
        let own = if from_back { &self.back } else { &self.front };
        if own.is_empty() && !self.drained {
            let rows = match self.tx.scan(
                self.table,
                as_ref(&self.lo),
                as_ref(&self.hi),
                from_back,
                PAGE,
            ) {
                Ok(rows) => rows,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            match rows.last() {
                None => self.drained = true,
                Some((k, _)) if from_back => self.hi = Bound::Excluded(k.clone()),
                Some((k, _)) => self.lo = Bound::Excluded(k.clone()),
            }
            if from_back {
                self.back.extend(rows);
            } else {
                self.front.extend(rows);
            }
        }
        // Once the middle is drained, what the other end fetched is all that is left.
        let row = if from_back {
            self.back.pop_front().or_else(|| self.front.pop_back())
        } else {
            self.front.pop_front().or_else(|| self.back.pop_back())
        };
        row.map(Ok)
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v),
        Bound::Excluded(v) => Bound::Excluded(v),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// A typed range's bounds in ordered bytes.
fn ordered_bounds<'a, K: OrderedKey, KR: Borrow<K::SelfType<'a>> + 'a>(
    range: &impl RangeBounds<KR>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let one = |b: Bound<&KR>| match b {
        Bound::Included(k) => Bound::Included(ordered::<K>(k.borrow())),
        Bound::Excluded(k) => Bound::Excluded(ordered::<K>(k.borrow())),
        Bound::Unbounded => Bound::Unbounded,
    };
    (one(range.start_bound()), one(range.end_bound()))
}

/// A table opened in a write transaction.
pub struct Table<'t, K: OrderedKey, V: Value + 'static>(TableInner<'t, K, V>);

enum TableInner<'t, K: OrderedKey, V: Value + 'static> {
    Redb(redb::Table<'t, K, V>),
    Pg(&'t pg::PgTx<'t>, &'static str),
}

/// A table opened in a read transaction.
pub struct ReadOnlyTable<'t, K: OrderedKey, V: Value + 'static>(ReadOnlyInner<'t, K, V>);

enum ReadOnlyInner<'t, K: OrderedKey, V: Value + 'static> {
    Redb(redb::ReadOnlyTable<K, V>, PhantomData<&'t ()>),
    Pg(&'t pg::PgTx<'t>, &'static str),
}

/// What both kinds of table can read, through one view.
#[doc(hidden)]
pub(crate) enum Reader<'r, K: OrderedKey, V: Value + 'static> {
    RedbWrite(&'r redb::Table<'r, K, V>),
    RedbRead(&'r redb::ReadOnlyTable<K, V>),
    Pg(&'r pg::PgTx<'r>, &'static str),
}

/// Reads on a table, the same in a read or a write transaction.
pub(crate) trait ReadableTable<K: OrderedKey, V: Value + 'static> {
    #[doc(hidden)]
    fn reader(&self) -> Reader<'_, K, V>;

    fn get<'a>(
        &self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StoreError> {
        Ok(match self.reader() {
            Reader::RedbWrite(t) => t.get(key)?.map(Into::into),
            Reader::RedbRead(t) => t.get(key)?.map(Into::into),
            Reader::Pg(tx, table) => tx
                .get(table, &ordered::<K>(key.borrow()))?
                .map(AccessGuard::owned),
        })
    }

    fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> Result<Range<'_, K, V>, StoreError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        Ok(Range(match self.reader() {
            Reader::RedbWrite(t) => RangeInner::Redb(t.range(range)?),
            Reader::RedbRead(t) => RangeInner::Redb(t.range(range)?),
            Reader::Pg(tx, table) => {
                let (lo, hi) = ordered_bounds::<K, KR>(&range);
                RangeInner::Pg(Pages::new(tx, table, lo, hi), PhantomData)
            }
        }))
    }

    fn iter(&self) -> Result<Range<'_, K, V>, StoreError> {
        Ok(Range(match self.reader() {
            Reader::RedbWrite(t) => RangeInner::Redb(t.iter()?),
            Reader::RedbRead(t) => RangeInner::Redb(t.iter()?),
            Reader::Pg(tx, table) => RangeInner::Pg(
                Pages::new(tx, table, Bound::Unbounded, Bound::Unbounded),
                PhantomData,
            ),
        }))
    }

    fn first(&self) -> Result<Option<Entry<'_, K, V>>, StoreError> {
        match self.reader() {
            Reader::RedbWrite(t) => Ok(t.first()?.map(|(k, v)| (k.into(), v.into()))),
            Reader::RedbRead(t) => Ok(t.first()?.map(|(k, v)| (k.into(), v.into()))),
            Reader::Pg(tx, table) => edge::<K, V>(tx, table, false),
        }
    }

    fn last(&self) -> Result<Option<Entry<'_, K, V>>, StoreError> {
        match self.reader() {
            Reader::RedbWrite(t) => Ok(t.last()?.map(|(k, v)| (k.into(), v.into()))),
            Reader::RedbRead(t) => Ok(t.last()?.map(|(k, v)| (k.into(), v.into()))),
            Reader::Pg(tx, table) => edge::<K, V>(tx, table, true),
        }
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(match self.reader() {
            Reader::RedbWrite(t) => t.len()?,
            Reader::RedbRead(t) => t.len()?,
            Reader::Pg(tx, table) => tx.len(table)?,
        })
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

impl<K: OrderedKey, V: Value + 'static> ReadOnlyTable<'_, K, V> {
    /// The values of these keys that exist, as (redb-encoded key, value) pairs: one statement
    /// on PostgreSQL, point reads on redb.
    pub(crate) fn get_many<'a>(
        &self,
        keys: impl IntoIterator<Item = K::SelfType<'a>>,
    ) -> Result<Vec<Row>, StoreError>
    where
        K: 'a,
    {
        match &self.0 {
            ReadOnlyInner::Redb(t, _) => {
                let mut out = Vec::new();
                for k in keys {
                    if let Some(v) = t.get(&k)? {
                        out.push((
                            K::as_bytes(&k).as_ref().to_vec(),
                            V::as_bytes(&v.value()).as_ref().to_vec(),
                        ));
                    }
                }
                Ok(out)
            }
            ReadOnlyInner::Pg(tx, table) => {
                let keys: Vec<Vec<u8>> = keys.into_iter().map(|k| ordered::<K>(&k)).collect();
                tx.get_many(table, &keys)?
                    .into_iter()
                    .map(|(k, v)| Ok((from_ordered::<K>(&k)?, v)))
                    .collect()
            }
        }
    }
}

impl<K: OrderedKey, V: Value + 'static> ReadableTable<K, V> for Table<'_, K, V> {
    fn reader(&self) -> Reader<'_, K, V> {
        match &self.0 {
            TableInner::Redb(t) => Reader::RedbWrite(t),
            TableInner::Pg(tx, table) => Reader::Pg(tx, table),
        }
    }
}

impl<K: OrderedKey, V: Value + 'static> ReadableTable<K, V> for ReadOnlyTable<'_, K, V> {
    fn reader(&self) -> Reader<'_, K, V> {
        match &self.0 {
            ReadOnlyInner::Redb(t, _) => Reader::RedbRead(t),
            ReadOnlyInner::Pg(tx, table) => Reader::Pg(tx, table),
        }
    }
}

impl<K: OrderedKey, V: Value + 'static> Table<'_, K, V> {
    /// Insert or replace a row.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<(), StoreError> {
        match &mut self.0 {
            TableInner::Redb(t) => {
                t.insert(key, value)?;
            }
            TableInner::Pg(tx, table) => tx.insert(
                table,
                &ordered::<K>(key.borrow()),
                V::as_bytes(value.borrow()).as_ref(),
            )?,
        }
        Ok(())
    }

    /// Remove a row, returning what it held.
    pub fn remove<'a>(
        &mut self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StoreError> {
        Ok(match &mut self.0 {
            TableInner::Redb(t) => t.remove(key)?.map(Into::into),
            TableInner::Pg(tx, table) => tx
                .remove(table, &ordered::<K>(key.borrow()))?
                .map(AccessGuard::owned),
        })
    }

    /// Copy every row of `from` into this table (a backup, a migration); returns how many.
    /// On PostgreSQL the rows go in multi-row statements, a page at a time.
    pub(crate) fn copy_from(&mut self, from: &impl ReadableTable<K, V>) -> Result<u64, StoreError> {
        let mut n = 0;
        let mut page = Vec::new();
        for row in from.iter()? {
            let (k, v) = row?;
            n += 1;
            match &mut self.0 {
                TableInner::Redb(t) => {
                    t.insert(k.value(), v.value())?;
                }
                TableInner::Pg(tx, table) => {
                    page.push((
                        ordered::<K>(&k.value()),
                        V::as_bytes(&v.value()).as_ref().to_vec(),
                    ));
                    if page.len() == PAGE {
                        tx.insert_many(table, &page)?;
                        page.clear();
                    }
                }
            }
        }
        if let TableInner::Pg(tx, table) = &self.0 {
            if !page.is_empty() {
                tx.insert_many(table, &page)?;
            }
        }
        Ok(n)
    }

    /// Keep the rows for which `keep` says true.
    pub fn retain<F>(&mut self, keep: F) -> Result<(), StoreError>
    where
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        match &mut self.0 {
            TableInner::Redb(t) => t.retain(keep)?,
            TableInner::Pg(tx, table) => {
                retain_pg::<K, V, _>(tx, table, Bound::Unbounded, Bound::Unbounded, keep)?;
            }
        }
        Ok(())
    }

    /// Keep the rows of a key range for which `keep` says true (visited in key order).
    pub fn retain_in<'a, KR, F>(
        &mut self,
        range: impl RangeBounds<KR> + 'a,
        keep: F,
    ) -> Result<(), StoreError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        match &mut self.0 {
            TableInner::Redb(t) => t.retain_in(range, keep)?,
            TableInner::Pg(tx, table) => {
                let (lo, hi) = ordered_bounds::<K, KR>(&range);
                retain_pg::<K, V, _>(tx, table, lo, hi, keep)?;
            }
        }
        Ok(())
    }
}

/// `retain_in` on PostgreSQL: the rows are visited in key order a page at a time, and each
/// run of neighbours to drop goes in one ranged delete (the write lock is held, so no row
/// can appear inside a run meanwhile).
fn retain_pg<K: OrderedKey, V: Value + 'static, F>(
    tx: &pg::PgTx<'_>,
    table: &'static str,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    mut keep: F,
) -> Result<(), StoreError>
where
    F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
{
    let mut run: Option<(Vec<u8>, Vec<u8>)> = None;
    let flush = |run: &mut Option<(Vec<u8>, Vec<u8>)>| match run.take() {
        Some((first, last)) => tx
            .remove_range(table, Bound::Included(&first), Bound::Included(&last))
            .map(drop),
        None => Ok(()),
    };
    let mut pages = Pages::new(tx, table, lo, hi);
    while let Some(row) = pages.next(false) {
        let (k, v) = row?;
        let key = from_ordered::<K>(&k)?;
        if keep(K::from_bytes(&key), V::from_bytes(&v)) {
            flush(&mut run)?;
        } else {
            match &mut run {
                Some((_, last)) => *last = k,
                None => run = Some((k.clone(), k)),
            }
        }
    }
    flush(&mut run)
}

/// A key type in an order-preserving byte form, for engines that compare keys as plain bytes:
/// integers big-endian, strings escaped and terminated so that a tuple's parts compare in turn.
pub trait OrderedKey: Key + 'static {
    /// Append the ordered form of `v`.
    fn put_ordered(v: &Self::SelfType<'_>, out: &mut Vec<u8>);
    /// redb's encoding of the key whose ordered form `b` starts with; `b` moves past it.
    fn take_ordered(b: &mut &[u8]) -> Result<Vec<u8>, StoreError>;
}

fn short(what: &str) -> StoreError {
    StoreError::Corrupt(format!("a stored key is cut short ({what})"))
}

macro_rules! ordered_int {
    ($($t:ty),*) => {$(
        impl OrderedKey for $t {
            fn put_ordered(v: &<Self as Value>::SelfType<'_>, out: &mut Vec<u8>) {
                out.extend_from_slice(&v.to_be_bytes());
            }
            fn take_ordered(b: &mut &[u8]) -> Result<Vec<u8>, StoreError> {
                const N: usize = std::mem::size_of::<$t>();
                let (head, rest) = b.split_first_chunk::<N>().ok_or_else(|| short(stringify!($t)))?;
                *b = rest;
                Ok(<$t as Value>::as_bytes(&<$t>::from_be_bytes(*head)).to_vec())
            }
        }
    )*};
}
ordered_int!(u32, u64);

/// Bytes with 0x00 written as 0x00 0xFF and a 0x00 0x00 terminator: shorter sorts first, and
/// what follows cannot be mistaken for more of the string.
fn put_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    for &c in bytes {
        out.push(c);
        if c == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

fn take_escaped(b: &mut &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(0), Some(0)) => {
                *b = &b[i + 2..];
                return Ok(out);
            }
            (Some(0), Some(0xFF)) => {
                out.push(0);
                i += 2;
            }
            (Some(&c), _) if c != 0 => {
                out.push(c);
                i += 1;
            }
            _ => return Err(short("an unterminated string")),
        }
    }
}

impl OrderedKey for &'static str {
    fn put_ordered(v: &<Self as Value>::SelfType<'_>, out: &mut Vec<u8>) {
        put_escaped(v.as_bytes(), out);
    }
    fn take_ordered(b: &mut &[u8]) -> Result<Vec<u8>, StoreError> {
        let bytes = take_escaped(b)?;
        std::str::from_utf8(&bytes).map_err(|_| short("a string that is not UTF-8"))?;
        Ok(bytes)
    }
}

impl OrderedKey for &'static [u8] {
    fn put_ordered(v: &<Self as Value>::SelfType<'_>, out: &mut Vec<u8>) {
        put_escaped(v, out);
    }
    fn take_ordered(b: &mut &[u8]) -> Result<Vec<u8>, StoreError> {
        take_escaped(b)
    }
}

/// A pair compares by its first part, then its second.
impl<A: OrderedKey, B: OrderedKey> OrderedKey for (A, B) {
    fn put_ordered(v: &<Self as Value>::SelfType<'_>, out: &mut Vec<u8>) {
        A::put_ordered(&v.0, out);
        B::put_ordered(&v.1, out);
    }
    fn take_ordered(b: &mut &[u8]) -> Result<Vec<u8>, StoreError> {
        let a = A::take_ordered(b)?;
        let c = B::take_ordered(b)?;
        let pair = (A::from_bytes(&a), B::from_bytes(&c));
        Ok(<Vec<u8> as AsRef<[u8]>>::as_ref(&<(A, B) as Value>::as_bytes(&pair)).to_vec())
    }
}

/// Whether opening a table failed because the database has no such table yet (a redb file
/// written before the table was added; the server creates it on open, a stopped file lacks it).
pub(crate) fn is_missing_table(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(redb::Error::TableDoesNotExist(_)))
}

/// The ordered form of a key.
pub(crate) fn ordered<K: OrderedKey>(v: &K::SelfType<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    K::put_ordered(v, &mut out);
    out
}

/// redb's encoding of the key an ordered form holds, which must be all of `b`.
pub(crate) fn from_ordered<K: OrderedKey>(mut b: &[u8]) -> Result<Vec<u8>, StoreError> {
    let out = K::take_ordered(&mut b)?;
    if b.is_empty() {
        Ok(out)
    } else {
        Err(StoreError::Corrupt(
            "a stored key has bytes past its end".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round<K: OrderedKey>(v: K::SelfType<'_>) -> Vec<u8> {
        let o = ordered::<K>(&v);
        assert_eq!(
            from_ordered::<K>(&o).unwrap(),
            K::as_bytes(&v).as_ref().to_vec()
        );
        o
    }

    #[test]
    fn ordered_keys_sort_like_the_keys_and_read_back() {
        let ints = [0u64, 1, 255, 256, 65_535, 1 << 40, u64::MAX];
        for w in ints.windows(2) {
            assert!(round::<u64>(w[0]) < round::<u64>(w[1]));
        }
        let strs = ["", "\0", "\0a", "a", "a\0", "a\0\0", "ab", "b", "é"];
        for w in strs.windows(2) {
            assert!(round::<&str>(w[0]) < round::<&str>(w[1]), "{w:?}");
            assert!(round::<&[u8]>(w[0].as_bytes()) < round::<&[u8]>(w[1].as_bytes()));
        }
        // A pair compares by its first part, then its second, whatever the lengths.
        let pairs = [
            ("", u64::MAX),
            ("a", 0),
            ("a", 1),
            ("a", u64::MAX),
            ("a\0", 0),
            ("ab", 0),
        ];
        for w in pairs.windows(2) {
            assert!(
                round::<(&str, u64)>(w[0]) < round::<(&str, u64)>(w[1]),
                "{w:?}"
            );
        }
        assert!(round::<(u32, u64)>((1, u64::MAX)) < round::<(u32, u64)>((2, 0)));
        assert!(round::<(u64, u64)>((7, 300)) < round::<(u64, u64)>((7, 301)));
    }

    /// Everything the typed layer answers, observed on one engine.
    fn observe(db: &Engine) -> Vec<String> {
        use crate::store::tables::{HISTORY, KEY_REQUESTS};
        let mut seen = Vec::new();
        let names = ["", "a", "a\0", "ab", "b"];
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(KEY_REQUESTS).unwrap();
            // More rows than a page, so ranges cross page boundaries from both ends.
            for i in 0..5_000u64 {
                t.insert((i % 7, i), i.to_be_bytes().as_slice()).unwrap();
            }
            let mut h = tx.open_table(HISTORY).unwrap();
            for (n, name) in names.iter().enumerate() {
                for i in [0, 1, u64::MAX] {
                    h.insert((*name, i), [n as u8].as_slice()).unwrap();
                }
            }
        }
        tx.commit().unwrap();
        let keys = |r: Range<'_, (u64, u64), &'static [u8]>| -> Vec<(u64, u64)> {
            r.map(|row| row.unwrap().0.value()).collect()
        };
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(KEY_REQUESTS).unwrap();
        seen.push(format!("len {}", t.len().unwrap()));
        seen.push(format!("all {:?}", keys(t.iter().unwrap())));
        seen.push(format!(
            "rev {:?}",
            keys(t.iter().unwrap())
                .iter()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
        ));
        seen.push(format!(
            "rev iter {:?}",
            t.iter()
                .unwrap()
                .rev()
                .take(3)
                .map(|r| r.unwrap().0.value())
                .collect::<Vec<_>>()
        ));
        seen.push(format!(
            "one key {:?}",
            keys(t.range((3, 0)..=(3, u64::MAX)).unwrap())
        ));
        seen.push(format!(
            "span {:?}",
            keys(t.range((2, 100)..(5, 0)).unwrap())
        ));
        seen.push(format!("to {:?}", keys(t.range(..(0, 50)).unwrap())));
        seen.push(format!("from {:?}", keys(t.range((6, 4990)..).unwrap())));
        // Both ends at once, meeting in the middle of a range longer than two pages.
        let mut r = t.iter().unwrap();
        let mut both = Vec::new();
        while let (Some(a), b) = (r.next(), r.next_back()) {
            both.push(a.unwrap().0.value());
            if let Some(b) = b {
                both.push(b.unwrap().0.value());
            }
        }
        seen.push(format!("both ends {both:?}"));
        seen.push(format!(
            "first {:?}",
            t.first().unwrap().map(|(k, _)| k.value())
        ));
        seen.push(format!(
            "last {:?}",
            t.last()
                .unwrap()
                .map(|(k, v)| (k.value(), v.value().to_vec()))
        ));
        seen.push(format!(
            "get {:?}",
            t.get((4, 11)).unwrap().map(|g| g.value().to_vec())
        ));
        seen.push(format!(
            "missing {:?}",
            t.get((4, 12)).unwrap().map(|g| g.value().to_vec())
        ));
        let mut many = t.get_many([(4, 11), (4, 12), (0, 0), (6, 4998)]).unwrap();
        many.sort();
        seen.push(format!("many {many:?}"));
        let h = tx.open_table(HISTORY).unwrap();
        let hist: Vec<(String, u64)> = h
            .iter()
            .unwrap()
            .map(|r| {
                let k = r.unwrap().0;
                let (n, i) = k.value();
                (n.to_owned(), i)
            })
            .collect();
        seen.push(format!("names {hist:?}"));
        let a: Vec<u64> = h
            .range(("a", 0)..=("a", u64::MAX))
            .unwrap()
            .map(|r| r.unwrap().0.value().1)
            .collect();
        seen.push(format!("name a {a:?}"));
        drop((t, h));
        drop(tx);
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(KEY_REQUESTS).unwrap();
            let mut n = 0;
            t.retain_in((1, 0)..=(1, u64::MAX), |_, _| {
                n += 1;
                n % 3 == 0
            })
            .unwrap();
            t.retain(|k, _| k.0 != 5 || k.1 % 2 == 0).unwrap();
            seen.push(format!(
                "removed {:?}",
                t.remove((4, 11)).unwrap().map(|g| g.value().to_vec())
            ));
            seen.push(format!(
                "removed again {:?}",
                t.remove((4, 11)).unwrap().map(|g| g.value().to_vec())
            ));
        }
        tx.commit().unwrap();
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(KEY_REQUESTS).unwrap();
        seen.push(format!(
            "after {} {:?}",
            t.len().unwrap(),
            keys(t.iter().unwrap())
        ));
        seen
    }

    #[test]
    fn both_engines_answer_every_read_and_write_alike() {
        let Some(url) = fresh_database() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let redb = Engine::Redb(redb::Database::create(dir.path().join("t.redb")).unwrap());
        let pg = Engine::Postgres(Box::new(PgDatabase::connect(&url, &[]).unwrap()));
        let (a, b) = (observe(&redb), observe(&pg));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!(x == y, "redb: {:.300}\npostgres: {:.300}", x, y);
        }
    }

    #[test]
    fn a_cut_or_padded_key_is_an_error_not_a_panic() {
        let o = ordered::<(&str, u64)>(&("abc", 5));
        for n in 0..o.len() {
            assert!(from_ordered::<(&str, u64)>(&o[..n]).is_err(), "cut at {n}");
        }
        let mut long = o.clone();
        long.push(1);
        assert!(from_ordered::<(&str, u64)>(&long).is_err());
        assert!(from_ordered::<&str>(&[0xC3, 0, 0]).is_err(), "not UTF-8");
    }
}
