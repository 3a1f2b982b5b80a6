//! Statistics (数据统计) per scene and range, and the daily trend series.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use shiren_catalog::SolutionTab;

/// Longest custom range, in days.
pub const MAX_RANGE_DAYS: u64 = 180;

/// A statistics range of natural days (UTC+8), both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatsRange {
    /// Today and the six days before.
    Last7Days,
    /// Today and the 29 days before.
    Last30Days,
    /// `from` through `to`, at most 180 days.
    Custom {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
}

/// A range was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// Longer than 180 days.
    #[error("a statistics range may cover at most 180 days; {from} to {to} covers {days}")]
    TooLong {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
        /// Days covered.
        days: u64,
    },
    /// Ends before it starts.
    #[error("the range ends ({to}) before it starts ({from})")]
    Reversed {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
}

impl StatsRange {
    /// The first and last day, given today.
    pub fn days(self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), RangeError> {
        let back = |n: u64| today.checked_sub_days(Days::new(n)).unwrap_or(NaiveDate::MIN);
        let (from, to) = match self {
            StatsRange::Last7Days => (back(6), today),
            StatsRange::Last30Days => (back(29), today),
            StatsRange::Custom { from, to } => (from, to),
        };
        if to < from {
            return Err(RangeError::Reversed { from, to });
        }
        let days = u64::try_from((to - from).num_days()).unwrap_or(u64::MAX).saturating_add(1);
        if days > MAX_RANGE_DAYS {
            return Err(RangeError::TooLong { from, to, days });
        }
        Ok((from, to))
    }
}

/// Passed and failed counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Counts {
    /// Verifications that passed.
    pub passed: u64,
    /// Verifications that did not.
    pub failed: u64,
}

impl Counts {
    /// passed + failed: complete sets of materials received.
    pub fn submissions(&self) -> u64 {
        self.passed + self.failed
    }

    /// passed / submissions; `None` with no submissions.
    pub fn pass_rate(&self) -> Option<f64> {
        let submissions = self.submissions();
        (submissions > 0).then(|| self.passed as f64 / submissions as f64)
    }

    pub(crate) fn add(&mut self, passed: bool) {
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }

    pub(crate) fn remove(&mut self, passed: bool) {
        if passed {
            self.passed = self.passed.saturating_sub(1);
        } else {
            self.failed = self.failed.saturating_sub(1);
        }
    }
}

/// One day of one scene: counts per console tab (the trend series).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DayStats {
    /// Real-person verification (金融级实人认证).
    pub real_person: Counts,
    /// Liveness face verification (金融级活体人脸认证).
    pub liveness_face_verification: Counts,
    /// Liveness detection (金融级活体检测).
    pub liveness_detection: Counts,
    /// Face comparison (金融级人脸比对).
    pub face_comparison: Counts,
}

impl DayStats {
    pub(crate) fn series_mut(&mut self, tab: SolutionTab) -> &mut Counts {
        match tab {
            SolutionTab::RealPerson => &mut self.real_person,
            SolutionTab::LivenessFaceVerification => &mut self.liveness_face_verification,
            SolutionTab::LivenessDetection => &mut self.liveness_detection,
            SolutionTab::FaceComparison => &mut self.face_comparison,
        }
    }

    /// All series together.
    pub fn total(&self) -> Counts {
        let all = [
            self.real_person,
            self.liveness_face_verification,
            self.liveness_detection,
            self.face_comparison,
        ];
        Counts { passed: all.iter().map(|c| c.passed).sum(), failed: all.iter().map(|c| c.failed).sum() }
    }
}

/// Statistics of one scene over a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Totals over the range.
    pub totals: Counts,
    /// passed + failed.
    pub submissions: u64,
    /// passed / submissions; `None` with no submissions (never a division by zero).
    pub pass_rate: Option<f64>,
    /// Number of face-comparison records.
    pub compare_count: u64,
    /// One entry per day of the range, in order; days without records are zeros.
    pub daily: Vec<(NaiveDate, DayStats)>,
}
