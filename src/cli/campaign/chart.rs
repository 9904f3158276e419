//! A small terminal chart of engagement over time: one line per period, bars scaled to the
//! busiest one.

use crate::domain::campaign::Bucket;

const WIDTH: usize = 30;

/// Opens and clicks per period (`with_opens` false: clicks only, for short links).
pub fn chart(buckets: &[Bucket], with_opens: bool) -> String {
    if buckets.is_empty() {
        return "No opens or clicks yet.".into();
    }
    let max = buckets.iter().map(|b| b.opens.max(b.clicks)).max().unwrap_or(0).max(1);
    let bar = |n: i64| {
        let len = (n as usize * WIDTH).div_ceil(max as usize);
        format!("{:<w$}", "█".repeat(len), w = WIDTH)
    };
    let mut out = Vec::new();
    for b in buckets {
        let period = match b.period.len() {
            13 => format!("{} {}h", &b.period[..10], &b.period[11..13]),
            _ => b.period.clone(),
        };
        if with_opens {
            out.push(format!("{period:<14} opens  {} {}", bar(b.opens), b.opens));
            out.push(format!("{:<14} clicks {} {}", "", bar(b.clicks), b.clicks));
        } else {
            out.push(format!("{period:<14} {} {}", bar(b.clicks), b.clicks));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_period() {
        let b = |p: &str, o, c| Bucket { period: p.into(), opens: o, clicks: c };
        let text = chart(&[b("2026-12-01T14", 10, 5), b("2026-12-01T15", 0, 1)], true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("2026-12-01 14h opens  ") && lines[0].ends_with(" 10"), "{text}");
        assert_eq!(lines[0].matches('█').count(), WIDTH, "{text}");
        assert_eq!(lines[1].matches('█').count(), WIDTH / 2, "{text}");
        assert_eq!(lines[2].matches('█').count(), 0, "{text}");
        assert_eq!(lines[3].matches('█').count(), 3, "one click of ten still shows: {text}");
        assert_eq!(chart(&[], true), "No opens or clicks yet.");
    }
}
