//! The one markdown table of every report: a header, an alignment per
//! column, rows of cells. Every cell goes through [`cell`], so no text (a
//! setting, a file name, an error) can break a row, and every table is
//! written the same way.

use std::fmt;

use crate::format::cell;

/// How a column's cells line up: text left, figures right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// `---`
    Left,
    /// `---:`
    Right,
    /// `:---:`: a check mark.
    Center,
}

/// A markdown table, rendered by [`fmt::Display`] (header, rule, rows; no
/// blank line after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose columns are all left-aligned.
    pub fn new<S: AsRef<str>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            columns: headers
                .into_iter()
                .map(|h| (h.as_ref().to_string(), Align::Left))
                .collect(),
            rows: Vec::new(),
        }
    }

    /// A table of figures: the first column (the row's name) left-aligned,
    /// every other column right-aligned.
    pub fn figures<S: AsRef<str>>(headers: impl IntoIterator<Item = S>) -> Self {
        let mut table = Table::new(headers);
        for column in table.columns.iter_mut().skip(1) {
            column.1 = Align::Right;
        }
        table
    }

    /// The same table with the given alignments, column by column (extra
    /// alignments are ignored; missing ones keep the column's).
    pub fn aligned(mut self, aligns: &[Align]) -> Self {
        for (column, &align) in self.columns.iter_mut().zip(aligns) {
            column.1 = align;
        }
        self
    }

    /// Adds a row; its cells are escaped. A row with fewer cells than
    /// columns is padded with empty cells.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut row: Vec<String> = cells.into_iter().map(|c| cell(c.as_ref())).collect();
        row.resize(self.columns.len().max(row.len()), String::new());
        self.rows.push(row);
        self
    }

    /// Whether the table has no row yet.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, cells: &mut dyn Iterator<Item = &str>| {
            for c in cells {
                match c {
                    "" => write!(f, "| ")?,
                    c => write!(f, "| {c} ")?,
                }
            }
            writeln!(f, "|")
        };
        line(f, &mut self.columns.iter().map(|(h, _)| h.as_str()))?;
        line(
            f,
            &mut self.columns.iter().map(|(_, align)| match align {
                Align::Left => "---",
                Align::Right => "---:",
                Align::Center => ":---:",
            }),
        )?;
        for row in &self.rows {
            line(f, &mut row.iter().map(String::as_str))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rule_and_escaped_rows() {
        let mut t = Table::figures(["Name", "Rows", "Note"]).aligned(&[
            Align::Left,
            Align::Right,
            Align::Left,
        ]);
        t.row(["a|b", "1,000", "line\nbreak"]).row(["c", "2"]);
        assert_eq!(
            t.to_string(),
            "| Name | Rows | Note |\n| --- | ---: | --- |\n| a\\|b | 1,000 | line break |\n| c | 2 | |\n"
        );
    }

    #[test]
    fn figures_right_align_all_but_the_first_column() {
        let t = Table::figures(["Figure", "A", "B"]);
        assert!(t
            .to_string()
            .starts_with("| Figure | A | B |\n| --- | ---: | ---: |\n"));
        assert!(t.is_empty());
    }
}
