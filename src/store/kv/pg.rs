//! The PostgreSQL engine: the same ordered tables, one SQL table each.
