//! ISO/IEC 30107-3 presentation-attack-detection metrics over scored samples. Scores
//! are attack scores (high = attack); a sample is *classified as an attack* when its
//! score is at or above the threshold.
//!
//! - APCER per species = attacks of that species classified bona fide / attacks of it;
//!   the reported APCER is the maximum over species;
//! - BPCER = bona fide classified as attacks / bona fide;
//! - BPCER at APCER = 5 % / 10 % and APCER at BPCER = 1 % (over the observed scores);
//! - ACER = (APCER + BPCER) / 2 at the threshold, with the maximum APCER over species
//!   (ISO/IEC 30107-3:2017's average classification error rate);
//! - EER where the two error curves cross;
//! - every rate with its sample count and a 95 % upper bound: 3/N for zero errors (the
//!   "rule of three"), the Wilson score bound otherwise.
//!
//! Numbers computed here on synthetic attacks describe the indicators' reaction to the
//! generator, not a certified PAD performance.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An error rate with its evidence.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Errors.
    pub errors: usize,
    /// Samples.
    pub samples: usize,
    /// errors / samples (0 with no samples).
    pub rate: f64,
    /// One-sided 95 % upper bound of the true rate.
    pub upper95: f64,
}

impl Rate {
    /// The rate of `errors` in `samples`.
    pub fn new(errors: usize, samples: usize) -> Rate {
        let n = samples as f64;
        let rate = if samples == 0 { 0.0 } else { errors as f64 / n };
        let upper95 = if samples == 0 {
            1.0
        } else if errors == 0 {
            (3.0 / n).min(1.0)
        } else {
            // Wilson score interval, one-sided 95 % (z = 1.645).
            let z = 1.645f64;
            let centre = rate + z * z / (2.0 * n);
            let spread = z * (rate * (1.0 - rate) / n + z * z / (4.0 * n * n)).sqrt();
            ((centre + spread) / (1.0 + z * z / n)).min(1.0)
        };
        Rate { errors, samples, rate, upper95 }
    }
}

/// The metrics at one threshold, plus the threshold-free operating points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PadMetrics {
    /// The decision threshold.
    pub threshold: f64,
    /// APCER per species (by name).
    pub apcer_per_species: BTreeMap<String, Rate>,
    /// The maximum APCER over species.
    pub apcer_max: f64,
    /// BPCER.
    pub bpcer: Rate,
    /// ACER: (`apcer_max` + BPCER) / 2.
    #[serde(default)]
    pub acer: f64,
    /// Lowest BPCER with APCER (max over species) ≤ 5 %.
    pub bpcer_at_apcer_5: f64,
    /// Lowest BPCER with APCER ≤ 10 %.
    pub bpcer_at_apcer_10: f64,
    /// Lowest APCER (max over species) with BPCER ≤ 1 %.
    pub apcer_at_bpcer_1: f64,
    /// Equal error rate (mean of APCER and BPCER where they are closest).
    pub eer: f64,
}

/// Computes the metrics: `bona_fide` scores, `attacks` as (species, score).
pub fn pad_metrics(bona_fide: &[f64], attacks: &[(String, f64)], threshold: f64) -> PadMetrics {
    let mut species: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (s, score) in attacks {
        species.entry(s.clone()).or_default().push(*score);
    }
    let apcer_at = |t: f64| -> BTreeMap<String, Rate> {
        species
            .iter()
            .map(|(name, scores)| {
                (name.clone(), Rate::new(scores.iter().filter(|&&s| s < t).count(), scores.len()))
            })
            .collect()
    };
    let bpcer_at = |t: f64| Rate::new(bona_fide.iter().filter(|&&s| s >= t).count(), bona_fide.len());
    let max_apcer = |t: f64| apcer_at(t).values().map(|r| r.rate).fold(0.0, f64::max);
    // Candidate thresholds: every observed score and just above the largest.
    let mut candidates: Vec<f64> = bona_fide.iter().copied().chain(attacks.iter().map(|a| a.1)).collect();
    candidates.push(f64::INFINITY);
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    let points: Vec<(f64, f64)> = candidates.iter().map(|&t| (max_apcer(t), bpcer_at(t).rate)).collect();
    let best = |ok: &dyn Fn(f64, f64) -> bool, pick: &dyn Fn(f64, f64) -> f64| {
        points.iter().filter(|&&(a, b)| ok(a, b)).map(|&(a, b)| pick(a, b)).fold(1.0, f64::min)
    };
    let eer = points
        .iter()
        .min_by(|x, y| (x.0 - x.1).abs().total_cmp(&(y.0 - y.1).abs()))
        .map_or(0.0, |&(a, b)| (a + b) / 2.0);
    let apcer_per_species = apcer_at(threshold);
    let apcer_max = apcer_per_species.values().map(|r| r.rate).fold(0.0, f64::max);
    let bpcer = bpcer_at(threshold);
    PadMetrics {
        threshold,
        apcer_max,
        apcer_per_species,
        acer: (apcer_max + bpcer.rate) / 2.0,
        bpcer,
        bpcer_at_apcer_5: best(&|a, _| a <= 0.05, &|_, b| b),
        bpcer_at_apcer_10: best(&|a, _| a <= 0.10, &|_, b| b),
        apcer_at_bpcer_1: best(&|_, b| b <= 0.01, &|a, _| a),
        eer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        let bona = [0.1, 0.2, 0.3, 0.9];
        let attacks = [("print".to_owned(), 0.8), ("print".to_owned(), 0.4), ("screen".to_owned(), 0.95)];
        let m = pad_metrics(&bona, &attacks, 0.5);
        assert_eq!(m.apcer_per_species["print"].errors, 1);
        assert_eq!(m.apcer_per_species["print"].rate, 0.5);
        assert_eq!(m.apcer_per_species["screen"].rate, 0.0);
        assert_eq!(m.apcer_max, 0.5);
        assert_eq!(m.bpcer.rate, 0.25);
        assert_eq!(m.acer, 0.375);
        // At threshold 0.4 every attack is caught and one bona fide (0.9) is rejected.
        assert_eq!(m.bpcer_at_apcer_5, 0.25);
        assert_eq!(m.apcer_at_bpcer_1, 1.0, "only a threshold above 0.9 rejects no bona fide");
        assert!(m.eer > 0.0 && m.eer <= 0.5);
    }

    #[test]
    fn bounds() {
        assert_eq!(Rate::new(0, 300).upper95, 0.01);
        let r = Rate::new(5, 100);
        assert!(r.upper95 > 0.05 && r.upper95 < 0.11, "{r:?}");
        assert_eq!(Rate::new(0, 0).upper95, 1.0);
        let perfect = pad_metrics(&[0.0, 0.1], &[("print".into(), 0.9)], 0.5);
        assert_eq!((perfect.apcer_max, perfect.bpcer.rate, perfect.eer), (0.0, 0.0, 0.0));
    }
}
