//! CSV records with a bound on every cell, for imports. The `csv` crate's reader holds a whole
//! record, so one 50 MB cell costs 50 MB and more; here a cell longer than the bound is read
//! through and dropped as it streams by, and only its record learns that it was too long.
//! Cells past the ones the caller keeps are dropped the same way, so a record never holds more
//! than `keep × (max_cell + 1)` bytes, whatever the file.

use std::io::{self, BufRead};

use csv_core::ReadFieldResult;

pub struct BoundedRows<R> {
    input: R,
    core: csv_core::Reader,
    max_cell: usize,
}

/// One record's kept cells, back to back; reused from record to record.
#[derive(Debug, Default)]
pub struct Record {
    text: Vec<u8>,
    /// Bytes of `text` in use (the rest is room for the next cell).
    len: usize,
    ends: Vec<usize>,
    line: u64,
    count: usize,
    too_long: Option<usize>,
}

impl Record {
    /// The line the record starts on (the first line is 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// How many cells the record has, dropped ones included.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The first kept cell (0-based) that was longer than the bound.
    pub fn too_long(&self) -> Option<usize> {
        self.too_long
    }

    /// Kept cell `i`, trimmed; `Err` when it is not UTF-8.
    pub fn get(&self, i: usize) -> Option<Result<&str, std::str::Utf8Error>> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(std::str::from_utf8(&self.text[start..end]).map(str::trim))
    }

    /// The kept cells, in order.
    pub fn cells(&self) -> impl Iterator<Item = Result<&str, std::str::Utf8Error>> {
        (0..self.ends.len()).filter_map(|i| self.get(i))
    }

    fn clear(&mut self) {
        self.len = 0;
        self.ends.clear();
        self.count = 0;
        self.too_long = None;
    }
}

impl<R: BufRead> BoundedRows<R> {
    /// Records of standard CSV (comma, double quotes, a UTF-8 BOM ignored) whose cells may be
    /// at most `max_cell` bytes long.
    pub fn new(input: R, max_cell: usize) -> Self {
        Self {
            input,
            core: csv_core::Reader::new(),
            max_cell,
        }
    }

    /// Read the next record into `rec`, keeping its first `keep` cells. `false` at the end.
    pub fn read(&mut self, rec: &mut Record, keep: usize) -> io::Result<bool> {
        rec.clear();
        rec.line = self.core.line();
        let mut dropped = [0u8; 4096];
        let mut cell_start = 0;
        // The current cell is too long (or past `keep`): its bytes go to `dropped`.
        let mut dropping = keep == 0;
        loop {
            let input = self.input.fill_buf()?;
            let (res, nin, nout) = if dropping {
                self.core.read_field(input, &mut dropped)
            } else {
                // Room for one byte more than the bound: filling it means too long.
                let room = cell_start + self.max_cell + 1;
                if rec.text.len() < room {
                    rec.text.resize(room, 0);
                }
                self.core.read_field(input, &mut rec.text[rec.len..room])
            };
            self.input.consume(nin);
            if !dropping {
                rec.len += nout;
            }
            match res {
                ReadFieldResult::InputEmpty => {}
                ReadFieldResult::OutputFull => {
                    if !dropping {
                        rec.too_long.get_or_insert(rec.count);
                        rec.len = cell_start;
                        dropping = true;
                    }
                }
                ReadFieldResult::Field { record_end } => {
                    if rec.count < keep {
                        if rec.len - cell_start > self.max_cell {
                            rec.too_long.get_or_insert(rec.count);
                            rec.len = cell_start;
                        }
                        rec.ends.push(rec.len);
                    }
                    rec.count += 1;
                    cell_start = rec.len;
                    dropping = rec.count >= keep;
                    if record_end {
                        return Ok(true);
                    }
                }
                ReadFieldResult::End => return Ok(false),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(
        text: &[u8],
        max_cell: usize,
        keep: usize,
    ) -> Vec<(u64, usize, Option<usize>, Vec<String>)> {
        let mut rows = BoundedRows::new(text, max_cell);
        let mut rec = Record::default();
        let mut out = Vec::new();
        while rows.read(&mut rec, keep).unwrap() {
            let cells = rec.cells().map(|c| c.unwrap().to_owned()).collect();
            out.push((rec.line(), rec.count(), rec.too_long(), cells));
        }
        out
    }

    #[test]
    fn reads_quoted_multi_line_and_bom_prefixed_csv_like_the_csv_crate() {
        let text = "\u{feff}a,b\n\"x, \"\"y\"\"\",2\n\n\"multi\nline\", 3 \nlast,4";
        assert_eq!(
            all(text.as_bytes(), 64, 7),
            vec![
                (1, 2, None, vec!["a".into(), "b".into()]),
                (2, 2, None, vec!["x, \"y\"".into(), "2".into()]),
                // As the `csv` crate counts: a blank line before a record counts as its start.
                (3, 2, None, vec!["multi\nline".into(), "3".into()]),
                (6, 2, None, vec!["last".into(), "4".into()]),
            ]
        );
    }

    #[test]
    fn a_long_cell_is_dropped_and_named_and_extra_cells_are_not_kept() {
        let long = "y".repeat(100_000);
        let text = format!(
            "a,b\nok,{long},z,z\n\"{long}\",ok\nexact,{}\n",
            "e".repeat(8)
        );
        assert_eq!(
            all(text.as_bytes(), 8, 2),
            vec![
                (1, 2, None, vec!["a".into(), "b".into()]),
                (2, 4, Some(1), vec!["ok".into(), String::new()]),
                (3, 2, Some(0), vec![String::new(), "ok".into()]),
                (4, 2, None, vec!["exact".into(), "eeeeeeee".into()]),
            ]
        );
        let mut rows = BoundedRows::new(text.as_bytes(), 8);
        let mut rec = Record::default();
        while rows.read(&mut rec, 2).unwrap() {
            assert!(rec.text.len() <= 2 * 9, "{}", rec.text.len());
        }
    }
}
