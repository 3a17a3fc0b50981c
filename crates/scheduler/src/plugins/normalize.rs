//! `helper.DefaultNormalizeScore`: scale scores so the highest is 100 (or reversed).

use crate::framework::{NodeScore, MAX_NODE_SCORE};

pub fn default_normalize(scores: &mut [NodeScore], reverse: bool) {
    let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| s.score = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores {
        let v = MAX_NODE_SCORE * s.score / max;
        s.score = if reverse { MAX_NODE_SCORE - v } else { v };
    }
}
