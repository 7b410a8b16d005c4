//! Durable storage behind one seam: ordered key-value tables in transactions, on redb (the
//! embedded default) or PostgreSQL. The rest of `store` speaks these types only, shaped like
//! redb's own (`open_table`, `get`, `range`, `retain_in`, guards with `value()`), so a rule is
//! written once and runs on either engine. Keys and values keep redb's typed encodings; an
//! engine that compares keys as bytes gets them in an order-preserving form (`OrderedKey`).

// Nothing calls the PostgreSQL engine until the typed layer dispatches to it.
#[allow(dead_code)]
mod pg;

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::ops::RangeBounds;

pub use redb::{Key, TableDefinition, TableHandle, Value};
use redb::{ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _};

use super::StoreError;

/// The database a store runs on.
pub enum Engine {
    Redb(redb::Database),
}

impl Engine {
    pub fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        match self {
            Self::Redb(db) => Ok(WriteTransaction(WriteInner::Redb(db.begin_write()?))),
        }
    }

    pub fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        match self {
            Self::Redb(db) => Ok(ReadTransaction(ReadInner::Redb(db.begin_read()?))),
        }
    }

    /// Close the database, reporting what a drop would swallow (a backup's last write).
    pub fn close(self) -> Result<(), StoreError> {
        match self {
            Self::Redb(db) => Ok(db.close()?),
        }
    }
}

pub struct WriteTransaction(WriteInner);

enum WriteInner {
    Redb(redb::WriteTransaction),
}

impl WriteTransaction {
    pub fn open_table<K: OrderedKey, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Table<'_, K, V>, StoreError> {
        match &self.0 {
            WriteInner::Redb(tx) => Ok(Table(TableInner::Redb(tx.open_table(def)?))),
        }
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
        }
    }

    pub fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            WriteInner::Redb(tx) => Ok(tx.commit()?),
        }
    }
}

pub struct ReadTransaction(ReadInner);

enum ReadInner {
    Redb(redb::ReadTransaction),
}

impl ReadTransaction {
    /// The names of the tables the database holds.
    #[cfg(test)]
    pub fn table_names(&self) -> Result<Vec<String>, StoreError> {
        match &self.0 {
            ReadInner::Redb(tx) => Ok(tx
                .list_tables()?
                .map(|t| t.name().to_owned())
                .collect()),
        }
    }

    pub fn open_table<K: OrderedKey, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<ReadOnlyTable<'_, K, V>, StoreError> {
        match &self.0 {
            ReadInner::Redb(tx) => Ok(ReadOnlyTable(ReadOnlyInner::Redb(
                tx.open_table(def)?,
                PhantomData,
            ))),
        }
    }
}

/// A stored key or value, read back.
pub struct AccessGuard<'a, V: Value + 'static>(GuardInner<'a, V>);

enum GuardInner<'a, V: Value + 'static> {
    Redb(redb::AccessGuard<'a, V>),
    #[allow(dead_code)]
    Owned(Vec<u8>, PhantomData<V>),
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
}

impl<'a, K: Key + 'static, V: Value + 'static> Iterator for Range<'a, K, V> {
    type Item = Result<Entry<'a, K, V>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            RangeInner::Redb(r) => r
                .next()
                .map(|row| row.map(|(k, v)| (k.into(), v.into())).map_err(Into::into)),
        }
    }
}

impl<K: Key + 'static, V: Value + 'static> DoubleEndedIterator for Range<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            RangeInner::Redb(r) => r
                .next_back()
                .map(|row| row.map(|(k, v)| (k.into(), v.into())).map_err(Into::into)),
        }
    }
}

/// A table opened in a write transaction.
pub struct Table<'t, K: OrderedKey, V: Value + 'static>(TableInner<'t, K, V>);

enum TableInner<'t, K: OrderedKey, V: Value + 'static> {
    Redb(redb::Table<'t, K, V>),
}

/// A table opened in a read transaction.
pub struct ReadOnlyTable<'t, K: OrderedKey, V: Value + 'static>(ReadOnlyInner<'t, K, V>);

enum ReadOnlyInner<'t, K: OrderedKey, V: Value + 'static> {
    Redb(redb::ReadOnlyTable<K, V>, PhantomData<&'t ()>),
}

/// What both kinds of table can read, through one view.
#[doc(hidden)]
pub enum Reader<'r, K: OrderedKey, V: Value + 'static> {
    RedbWrite(&'r redb::Table<'r, K, V>),
    RedbRead(&'r redb::ReadOnlyTable<K, V>),
}

/// Reads on a table, the same in a read or a write transaction.
pub trait ReadableTable<K: OrderedKey, V: Value + 'static> {
    #[doc(hidden)]
    fn reader(&self) -> Reader<'_, K, V>;

    fn get<'a>(
        &self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StoreError> {
        Ok(match self.reader() {
            Reader::RedbWrite(t) => t.get(key)?.map(Into::into),
            Reader::RedbRead(t) => t.get(key)?.map(Into::into),
        })
    }

    fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> Result<Range<'_, K, V>, StoreError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        Ok(Range(RangeInner::Redb(match self.reader() {
            Reader::RedbWrite(t) => t.range(range)?,
            Reader::RedbRead(t) => t.range(range)?,
        })))
    }

    fn iter(&self) -> Result<Range<'_, K, V>, StoreError> {
        Ok(Range(RangeInner::Redb(match self.reader() {
            Reader::RedbWrite(t) => t.iter()?,
            Reader::RedbRead(t) => t.iter()?,
        })))
    }

    fn first(&self) -> Result<Option<Entry<'_, K, V>>, StoreError> {
        Ok(match self.reader() {
            Reader::RedbWrite(t) => t.first()?.map(|(k, v)| (k.into(), v.into())),
            Reader::RedbRead(t) => t.first()?.map(|(k, v)| (k.into(), v.into())),
        })
    }

    fn last(&self) -> Result<Option<Entry<'_, K, V>>, StoreError> {
        Ok(match self.reader() {
            Reader::RedbWrite(t) => t.last()?.map(|(k, v)| (k.into(), v.into())),
            Reader::RedbRead(t) => t.last()?.map(|(k, v)| (k.into(), v.into())),
        })
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(match self.reader() {
            Reader::RedbWrite(t) => t.len()?,
            Reader::RedbRead(t) => t.len()?,
        })
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

impl<K: OrderedKey, V: Value + 'static> ReadableTable<K, V> for Table<'_, K, V> {
    fn reader(&self) -> Reader<'_, K, V> {
        match &self.0 {
            TableInner::Redb(t) => Reader::RedbWrite(t),
        }
    }
}

impl<K: OrderedKey, V: Value + 'static> ReadableTable<K, V> for ReadOnlyTable<'_, K, V> {
    fn reader(&self) -> Reader<'_, K, V> {
        match &self.0 {
            ReadOnlyInner::Redb(t, _) => Reader::RedbRead(t),
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
        })
    }

    /// Keep the rows for which `keep` says true.
    pub fn retain<F>(&mut self, keep: F) -> Result<(), StoreError>
    where
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        match &mut self.0 {
            TableInner::Redb(t) => t.retain(keep)?,
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
        }
        Ok(())
    }
}

/// A key type in an order-preserving byte form, for engines that compare keys as plain bytes:
/// integers big-endian, strings escaped and terminated so that a tuple's parts compare in turn.
#[allow(dead_code)] // the PostgreSQL engine's keys
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

/// The ordered form of a key.
#[allow(dead_code)]
pub(crate) fn ordered<K: OrderedKey>(v: &K::SelfType<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    K::put_ordered(v, &mut out);
    out
}

/// redb's encoding of the key an ordered form holds, which must be all of `b`.
#[allow(dead_code)]
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
