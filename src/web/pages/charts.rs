//! Charts drawn on the server as SVG: no script, no library. The text in a chart is escaped
//! here (the markup goes into the page unescaped), and every chart has a title for screen
//! readers; pages put the same numbers in a table beside it.

use std::fmt::Write;

/// One part of a bar: its name (for the legend and tooltip), value and colour level (the
/// CSS class `seg-N`, N = 0..=3 like the tiers; 4 for "not scored"; 5 for a plain count).
pub struct Segment {
    pub label: String,
    pub value: i64,
    pub level: usize,
}

/// One bar of a chart: a label and its parts, drawn left to right.
pub struct Bar {
    pub label: String,
    pub segments: Vec<Segment>,
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const LABEL_W: i64 = 190;
const BAR_W: i64 = 380;
const ROW_H: i64 = 30;

/// A horizontal stacked bar chart; `id` makes the title's id unique on the page.
pub fn stacked_bars(id: &str, title: &str, bars: &[Bar]) -> String {
    let max = bars
        .iter()
        .map(|b| b.segments.iter().map(|s| s.value).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW_H * i64::try_from(bars.len()).unwrap_or(0) + 10;
    let width = LABEL_W + BAR_W + 70;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="{id}-title"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = i64::try_from(i).unwrap_or(0) * ROW_H + 5;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>"#,
            LABEL_W - 8,
            y + 18,
            escape(&shorten(&bar.label, 26))
        );
        let mut x = LABEL_W;
        let mut total = 0;
        for seg in bar.segments.iter().filter(|s| s.value > 0) {
            let w = (seg.value * BAR_W / max).max(2);
            let _ = write!(
                svg,
                r#"<rect x="{x}" y="{y}" width="{w}" height="{}" class="seg-{}"><title>{}: {}</title></rect>"#,
                ROW_H - 8,
                seg.level.min(5),
                escape(&seg.label),
                seg.value
            );
            if w >= 26 {
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}" text-anchor="middle" class="chart-value">{}</text>"#,
                    x + w / 2,
                    y + 16,
                    seg.value
                );
            }
            x += w;
            total += seg.value;
        }
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="chart-label">{total}</text>"#,
            x + 6,
            y + 18
        );
    }
    svg.push_str("</svg>");
    svg
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_bars_scale_to_the_largest() {
        let bars = vec![
            Bar {
                label: "<script>alert(1)</script>".into(),
                segments: vec![Segment {
                    label: "Høy & \"mer\"".into(),
                    value: 10,
                    level: 2,
                }],
            },
            Bar {
                label: "Renhold".into(),
                segments: vec![Segment {
                    label: "Lav".into(),
                    value: 5,
                    level: 0,
                }],
            },
        ];
        let svg = stacked_bars("c1", "Kontrakter <per> bransje", &bars);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("Høy &amp; &quot;mer&quot;: 10"));
        assert!(svg.contains("Kontrakter &lt;per&gt; bransje"));
        assert!(svg.contains(&format!(r#"width="{BAR_W}" height="22" class="seg-2""#)));
        assert!(svg.contains(&format!(r#"width="{}" height="22" class="seg-0""#, BAR_W / 2)));
    }
}
