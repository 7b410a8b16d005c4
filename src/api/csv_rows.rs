//! CSV records with a bound on every cell, for imports. The `csv` crate's reader holds a whole
//! record, so one 50 MB cell costs 50 MB and more; here a cell longer than the bound is read
//! through and dropped as it streams by, and only its record learns that it was too long.
//! Cells past the ones the caller keeps are dropped the same way, so a record never holds more
//! than `keep × (max_cell + 1)` bytes, whatever the file.
//!
//! Records are numbered by spreadsheet row, the number Excel and LibreOffice show beside a
//! record when they open the file: the first line is row 1 (normally the header, so the first
//! record after it is row 2), a record is one row however many line breaks its quoted cells
//! hold, and a blank line is a row of its own, as spreadsheets show it. CRLF, LF and a lone
//! CR each end one line. This is not csv-core's `line()`, which counts LF bytes: it stays 1
//! through a CR-only file, runs one ahead for every line break inside a cell, and in a CRLF
//! file is one behind, because the LF of a record's CRLF is read with the next record.

use std::io::{self, BufRead};

use csv_core::ReadFieldResult;

pub struct BoundedRows<R> {
    input: R,
    core: csv_core::Reader,
    max_cell: usize,
    /// The spreadsheet row of the next record, blank lines before it not yet counted.
    next_row: u64,
    /// The last line end read was a CR: an LF right after it belongs to the same line end.
    after_cr: bool,
    /// Whether the start of the input has been looked at for a BOM.
    started: bool,
}

/// One record's kept cells, back to back; reused from record to record.
#[derive(Debug, Default)]
pub struct Record {
    text: Vec<u8>,
    /// Bytes of `text` in use (the rest is room for the next cell).
    len: usize,
    ends: Vec<usize>,
    row: u64,
    count: usize,
    too_long: Option<usize>,
}

impl Record {
    /// The spreadsheet row the record is on: the first line is row 1 (see the module's docs).
    pub fn row(&self) -> u64 {
        self.row
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
            next_row: 1,
            after_cr: false,
            started: false,
        }
    }

    /// Read past a BOM at the very start and the line ends before the next record, counting
    /// each blank line as a row. csv-core would skip them too, but silently, so they are read
    /// here, where the count is kept. Leaves the input at the next record's first byte.
    fn skip_line_ends(&mut self) -> io::Result<()> {
        loop {
            let input = self.input.fill_buf()?;
            if !self.started {
                self.started = true;
                // Taken off here rather than by csv-core so a blank line right after it counts.
                if input.starts_with(b"\xef\xbb\xbf") {
                    self.input.consume(3);
                    continue;
                }
            }
            let mut n = 0;
            for &b in input {
                match b {
                    b'\n' if self.after_cr => self.after_cr = false,
                    b'\r' | b'\n' => {
                        self.next_row += 1;
                        self.after_cr = b == b'\r';
                    }
                    _ => {
                        self.after_cr = false;
                        break;
                    }
                }
                n += 1;
            }
            let at_record = n < input.len() || input.is_empty();
            self.input.consume(n);
            if at_record {
                return Ok(());
            }
        }
    }

    /// Read the next record into `rec`, keeping its first `keep` cells. `false` at the end.
    pub fn read(&mut self, rec: &mut Record, keep: usize) -> io::Result<bool> {
        rec.clear();
        self.skip_line_ends()?;
        rec.row = self.next_row;
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
            // csv-core reads a record's line end with its last cell: a CR there may still
            // have its LF to come, which is not a blank line.
            let ended_on_cr = nin > 0 && input[nin - 1] == b'\r';
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
                        self.next_row += 1;
                        self.after_cr = ended_on_cr;
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
            out.push((rec.row(), rec.count(), rec.too_long(), cells));
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
                // The blank line is row 3, as a spreadsheet shows it.
                (4, 2, None, vec!["multi\nline".into(), "3".into()]),
                (5, 2, None, vec!["last".into(), "4".into()]),
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

    /// (row, first cell) of each record, read through buffers of each capacity in `caps`, so
    /// that a CRLF or a BOM split between two reads is covered too; every capacity must agree.
    fn rows_through(text: &str, caps: &[usize]) -> Vec<(u64, String)> {
        let mut seen: Option<Vec<(u64, String)>> = None;
        for &cap in caps {
            let mut rows = BoundedRows::new(io::BufReader::with_capacity(cap, text.as_bytes()), 64);
            let mut rec = Record::default();
            let mut out = Vec::new();
            while rows.read(&mut rec, 2).unwrap() {
                let first = rec.get(0).unwrap().unwrap();
                out.push((rec.row(), first.to_owned()));
            }
            match &seen {
                Some(before) => assert_eq!(&out, before, "capacity {cap}, {text:?}"),
                None => seen = Some(out),
            }
        }
        seen.unwrap()
    }

    fn rows(text: &str) -> Vec<(u64, String)> {
        rows_through(text, &[1, 2, 3, 4, 5, 8192])
    }

    fn numbered(rows: &[(u64, &str)]) -> Vec<(u64, String)> {
        rows.iter().map(|(n, c)| (*n, (*c).to_owned())).collect()
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them_whatever_the_line_ends() {
        let want = numbered(&[(1, "h"), (2, "a"), (3, "b"), (4, "c")]);
        for text in [
            "h,x\na,1\nb,2\nc,3\n",
            "h,x\r\na,1\r\nb,2\r\nc,3\r\n",
            "h,x\ra,1\rb,2\rc,3\r",
            // No line end after the last record.
            "h,x\na,1\nb,2\nc,3",
            "h,x\r\na,1\r\nb,2\r\nc,3",
            "h,x\ra,1\rb,2\rc,3",
            // Line ends mixed in one file, and a quoted cell at the end of a line.
            "h,x\r\n\"a\",1\nb,\"2\"\rc,3\r\n",
        ] {
            assert_eq!(rows(text), want, "{text:?}");
        }
        // A one-record file: its record is row 2, never the header's row 1.
        for text in ["h\r\na\r\n", "h\na\n", "h\ra", "h\r\na"] {
            assert_eq!(rows(text), numbered(&[(1, "h"), (2, "a")]), "{text:?}");
        }
    }

    #[test]
    fn a_bom_is_not_a_row_and_is_not_kept() {
        // A BOM split over reads is left to the header's check (transfer's `columns`), so
        // these read through buffers of at least three bytes.
        let caps = [3, 4, 8192];
        for text in [
            "\u{feff}h\na\nb\n",
            "\u{feff}h\r\na\r\nb\r\n",
            "\u{feff}h\ra\rb",
        ] {
            assert_eq!(
                rows_through(text, &caps),
                numbered(&[(1, "h"), (2, "a"), (3, "b")]),
                "{text:?}"
            );
        }
        // A blank first line after the BOM is row 1, as in a spreadsheet.
        for text in ["\u{feff}\nh\na\n", "\u{feff}\r\nh\r\na\r\n"] {
            assert_eq!(
                rows_through(text, &caps),
                numbered(&[(2, "h"), (3, "a")]),
                "{text:?}"
            );
        }
    }

    #[test]
    fn blank_lines_count_as_rows_as_a_spreadsheet_shows_them() {
        let want = numbered(&[(1, "h"), (3, "a"), (6, "b")]);
        for text in [
            "h\n\na\n\n\nb\n",
            "h\r\n\r\na\r\n\r\n\r\nb\r\n",
            "h\r\ra\r\r\rb\r",
            // Each of CRLF, LF and CR ends one line, in any mix.
            "h\r\n\na\r\r\n\nb",
            "h\n\ra\n\r\n\rb\n\n\n",
        ] {
            assert_eq!(rows(text), want, "{text:?}");
        }
        // Blank lines before the header move it down, as they do in a spreadsheet.
        assert_eq!(rows("\n\r\nh\na\n"), numbered(&[(3, "h"), (4, "a")]));
    }

    #[test]
    fn a_record_whose_cells_span_lines_is_one_row() {
        let want = numbered(&[(1, "h"), (2, "two\nlines"), (3, "a"), (4, "x"), (5, "b")]);
        assert_eq!(
            rows("h,t\n\"two\nlines\",1\na,\"\n\n\"\nx,\"y\n\"\nb,2\n"),
            want
        );
        let crlf = rows("h,t\r\n\"two\r\nlines\",1\r\na,\"\r\n\r\n\"\r\nx,\"y\r\n\"\r\nb,2\r\n");
        let crlf: Vec<_> = crlf
            .into_iter()
            .map(|(n, c)| (n, c.replace('\r', "")))
            .collect();
        assert_eq!(crlf, want);
        // A blank line inside a quoted cell is part of the cell, not a row.
        assert_eq!(
            rows("h\n\"a\n\n\nb\"\nc\n"),
            numbered(&[(1, "h"), (2, "a\n\n\nb"), (3, "c")])
        );
    }
}
