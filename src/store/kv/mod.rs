//! Durable storage behind one seam: ordered key-value tables in transactions, on redb (the
//! embedded default) or PostgreSQL. Everything above this module speaks its types only.

// Nothing calls the PostgreSQL engine until the typed layer dispatches to it.
#[allow(dead_code)]
mod pg;
