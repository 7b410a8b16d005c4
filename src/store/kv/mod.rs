//! Durable storage behind one seam: ordered key-value tables in transactions, on redb (the
//! embedded default) or PostgreSQL. Everything above this module speaks its types only.

mod pg;
