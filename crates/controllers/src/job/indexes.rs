//! Completion indexes of Indexed Jobs: a Pod's index, and sets of indexes written as
//! `status.completedIndexes` ("1,3-5,7").

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

use super::INDEX_KEY;

/// The index of a Pod of an Indexed Job (annotation first, then label), if valid for `completions`.
pub fn of(pod: &Pod, completions: i32) -> Option<i32> {
    let m = &pod.metadata;
    let v = m.annotations.as_ref().and_then(|a| a.get(INDEX_KEY)).or_else(|| m.labels.as_ref()?.get(INDEX_KEY))?;
    v.parse().ok().filter(|i| (0..completions).contains(i))
}

/// Parses "1,3-5,7"; malformed parts are skipped.
pub fn parse(s: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(i) = part.parse() {
                    out.insert(i);
                }
            }
        }
    }
    out
}

/// Formats a set as ranges: {1,3,4,5,7} → "1,3-5,7".
pub fn format(set: &BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_sets_round_trip_as_ranges() {
        let s = parse("1,3-5,7");
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![1, 3, 4, 5, 7]);
        assert_eq!(format(&s), "1,3-5,7");
        assert_eq!(format(&BTreeSet::new()), "");
        assert_eq!(format(&parse("0,1,2")), "0-2");
    }
}
