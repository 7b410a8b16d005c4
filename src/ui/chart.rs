//! Charts drawn on the server as SVG, so that a page needs no chart library and no script.
//! Each chart carries its own text alternative: a sentence that sums it up (the figure's
//! caption) and the same numbers as a table under "Show as a table"; each bar is a focusable
//! point whose label reads its numbers, so a keyboard or a screen reader can walk the bars.
//! The page's CSP forbids inline styles, so sizes are SVG attributes and colours are classes
//! (`.chart .s0`, `.s1`, `.s2` in `app.css`, each at least 3:1 against the page).
//! The plot scales to its box (`preserveAspectRatio="none"`); its labels are HTML around it, so
//! text never stretches and a 390 px screen gets the same chart, narrower.

use maud::{html, Markup};

/// One stacked quantity of a bar chart, drawn in the class `s<index>`.
#[derive(Debug, Clone, Copy)]
pub struct Series {
    /// What the numbers count, plural and lower case: "clicks", "refused".
    pub name: &'static str,
    /// The same for one: "click" ("1 click", never "1 clicks").
    pub one: &'static str,
}

/// One bar: its label (a day, an hour) and one value per series, bottom first.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub values: Vec<u64>,
}

/// A bar chart over time (or any ordered labels), stacked when there are several series.
#[derive(Debug, Clone)]
pub struct BarChart<'a> {
    /// An id unique on the page (the caption and table hang off it).
    pub id: &'a str,
    pub title: &'a str,
    pub series: &'a [Series],
    pub bars: &'a [Bar],
}

/// The plot's own units: bars are `BAR` wide with a gap of `GAP`, the plot `HEIGHT` tall.
const BAR: u64 = 10;
const GAP: u64 = 2;
const HEIGHT: u64 = 100;

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "12 clicks" / "12 ok, 3 refused": a bar's numbers in words.
fn reading(series: &[Series], values: &[u64]) -> String {
    series
        .iter()
        .zip(values)
        .map(|(s, v)| format!("{} {}", thousands(*v), if *v == 1 { s.one } else { s.name }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rectangles of one stacked bar, bottom first: (series, top, height) in plot units.
fn stack(values: &[u64], max: u64) -> Vec<(usize, u64, u64)> {
    let mut base = HEIGHT;
    let mut out = Vec::with_capacity(values.len());
    for (s, v) in values.iter().enumerate().filter(|(_, v)| **v > 0) {
        let h = (v * HEIGHT).div_ceil(max).min(base);
        base -= h;
        out.push((s, base, h));
    }
    out
}

impl BarChart<'_> {
    fn total(bar: &Bar) -> u64 {
        bar.values.iter().sum()
    }

    /// The sentence a reader hears first: the range, the totals per series and the busiest bar.
    pub fn summary(&self) -> String {
        let (Some(first), Some(last)) = (self.bars.first(), self.bars.last()) else {
            return format!("{}: nothing yet.", self.title);
        };
        let totals: Vec<u64> = (0..self.series.len())
            .map(|i| {
                self.bars
                    .iter()
                    .map(|b| b.values.get(i).copied().unwrap_or(0))
                    .sum()
            })
            .collect();
        let mut s = format!(
            "{}, {} to {}: {}.",
            self.title,
            first.label,
            last.label,
            reading(self.series, &totals)
        );
        if let Some(peak) = self
            .bars
            .iter()
            .filter(|b| Self::total(b) > 0)
            .max_by_key(|b| Self::total(b))
        {
            s.push_str(&format!(
                " Busiest: {} ({}).",
                peak.label,
                thousands(Self::total(peak))
            ));
        } else {
            s.push_str(" None in this period.");
        }
        s
    }

    pub fn render(&self) -> Markup {
        let max = self.bars.iter().map(Self::total).max().unwrap_or(0).max(1);
        let width = (self.bars.len() as u64).max(1) * (BAR + GAP);
        let caption_id = format!("{}-caption", self.id);
        let summary = self.summary();
        html! {
            figure.chart id=(self.id) aria-labelledby=(caption_id) {
                figcaption id=(caption_id) { (summary) }
                div.chart-plot {
                    span.chart-max aria-hidden="true" { (thousands(max)) }
                    svg viewBox=(format!("0 0 {width} {HEIGHT}")) preserveAspectRatio="none"
                        role="group" aria-label=(self.title) focusable="false" {
                        @for (i, bar) in self.bars.iter().enumerate() {
                            @let x = i as u64 * (BAR + GAP);
                            @let label = format!("{}: {}", bar.label, reading(self.series, &bar.values));
                            g.chart-bar tabindex="0" role="img" aria-label=(label) {
                                title { (label) }
                                // The whole column, so a thin bar is still easy to point at.
                                rect.chart-hit x=(x) y="0" width=(BAR + GAP) height=(HEIGHT) {}
                                @for (s, y, h) in stack(&bar.values, max) {
                                    rect class=(format!("s{s}")) x=(x + GAP / 2) y=(y)
                                        width=(BAR) height=(h) {}
                                }
                            }
                        }
                    }
                    @if let (Some(first), Some(last)) = (self.bars.first(), self.bars.last()) {
                        div.chart-axis aria-hidden="true" {
                            span { (first.label) }
                            span { (last.label) }
                        }
                    }
                }
                @if self.series.len() > 1 {
                    ul.chart-legend aria-hidden="true" {
                        @for (i, s) in self.series.iter().enumerate() {
                            li { span class=(format!("swatch s{i}")) {} (s.name) }
                        }
                    }
                }
                details.chart-table {
                    summary { "Show as a table" }
                    table {
                        caption.visually-hidden { (self.title) }
                        thead { tr {
                            th scope="col" { "When" }
                            @for s in self.series { th scope="col" { (s.name) } }
                        } }
                        tbody {
                            @for bar in self.bars {
                                tr {
                                    th scope="row" { (bar.label) }
                                    @for v in &bar.values { td { (thousands(*v)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A ranked list (top referrers, browsers): a table whose rows carry a bar as wide as their
/// share of the largest, so the table is its own text alternative.
pub fn ranked(id: &str, title: &str, what: &str, rows: &[(String, u64)]) -> Markup {
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    html! {
        table.chart-ranked id=(id) {
            caption { (title) }
            thead { tr { th scope="col" { (what) } th scope="col" { "Count" } th scope="col" { span.visually-hidden { "Share" } } } }
            tbody {
                @if rows.is_empty() {
                    tr { td colspan="3" { "Nothing yet." } }
                }
                @for (name, n) in rows {
                    tr {
                        th scope="row" { (name) }
                        td { (thousands(*n)) }
                        td.chart-share {
                            svg viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" focusable="false" {
                                rect.s0 x="0" y="0" width=((n * 100).div_ceil(max)) height="8" {}
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &[Series] = &[
        Series {
            name: "ok",
            one: "ok",
        },
        Series {
            name: "refused",
            one: "refused",
        },
    ];

    fn bar(label: &str, values: &[u64]) -> Bar {
        Bar {
            label: label.to_owned(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn the_summary_names_the_range_the_totals_and_the_busiest_bar() {
        let bars = [bar("2026-11-01", &[2, 1]), bar("2026-11-02", &[1200, 0])];
        let clicks = [Series {
            name: "clicks",
            one: "click",
        }];
        let one = [bar("2026-11-01", &[1])];
        let single = BarChart {
            id: "c",
            title: "Clicks per day",
            series: &clicks,
            bars: &one,
        };
        assert_eq!(
            single.summary(),
            "Clicks per day, 2026-11-01 to 2026-11-01: 1 click. Busiest: 2026-11-01 (1)."
        );
        let chart = BarChart {
            id: "c",
            title: "Requests per day",
            series: TWO,
            bars: &bars,
        };
        assert_eq!(
            chart.summary(),
            "Requests per day, 2026-11-01 to 2026-11-02: 1,202 ok, 1 refused. \
             Busiest: 2026-11-02 (1,200)."
        );
        let empty = BarChart { bars: &[], ..chart };
        assert_eq!(empty.summary(), "Requests per day: nothing yet.");
    }

    #[test]
    fn each_bar_is_a_focusable_point_that_reads_its_numbers_and_stacks_within_the_plot() {
        let bars = [bar("Mon", &[3, 1]), bar("Tue", &[0, 0])];
        let html = BarChart {
            id: "c",
            title: "Requests",
            series: TWO,
            bars: &bars,
        }
        .render()
        .into_string();
        assert_eq!(html.matches("tabindex=\"0\"").count(), 2);
        assert!(html.contains("aria-label=\"Mon: 3 ok, 1 refused\""));
        // The tallest bar fills the plot exactly: 75 + 25 = 100.
        assert!(html.contains("class=\"s0\" x=\"1\" y=\"25\" width=\"10\" height=\"75\""));
        assert!(html.contains("class=\"s1\" x=\"1\" y=\"0\" width=\"10\" height=\"25\""));
        assert!(html.contains("<th scope=\"row\">Tue</th><td>0</td><td>0</td>"));
        assert!(!html.contains("style="), "the CSP forbids inline styles");
    }

    #[test]
    fn a_ranked_list_is_a_table_with_bars_as_wide_as_their_share() {
        let html = ranked(
            "r",
            "Top referrers",
            "Referrer",
            &[
                ("example.com".into(), 10),
                ("news.ycombinator.com".into(), 5),
            ],
        )
        .into_string();
        assert!(html.contains("width=\"100\""));
        assert!(html.contains("width=\"50\""));
        assert!(ranked("r", "t", "w", &[])
            .into_string()
            .contains("Nothing yet."));
    }
}
