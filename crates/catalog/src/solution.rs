//! The access solutions: list price, metering basis, traffic-pack type and whether
//! photos are stored — and the pricing variant for negotiated contracts.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::pack::PackType;
use crate::product::{ProductCode, SolutionTab};

/// How a solution's usage is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MeteringBasis {
    /// 成功调用次数: every completed verification counts, pass or fail.
    SuccessfulCalls,
    /// 认证成功数: only verifications whose verdict is pass count.
    PassedVerifications,
}

impl MeteringBasis {
    /// Whether a completed verification with verdict `passed` counts.
    pub fn counts(self, passed: bool) -> bool {
        match self {
            MeteringBasis::SuccessfulCalls => true,
            MeteringBasis::PassedVerifications => passed,
        }
    }
}

/// An access solution (接入方案).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Solution {
    /// APP认证方案.
    App,
    /// PC或移动端H5网页认证.
    H5,
    /// 纯服务端接入.
    ServerSide,
    /// 支付宝小程序.
    AlipayMiniProgram,
    /// 支付宝H5页面.
    AlipayH5,
    /// 活体人脸验证.
    LivenessFaceVerification,
    /// 活体检测.
    LivenessDetection,
    /// 人脸比对.
    FaceComparison,
    /// 原金融版实人认证: the legacy financial edition, without a list price of its own.
    LegacyFinancial,
}

/// The facts of one solution, as a row of the price table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SolutionFacts {
    /// Pay-as-you-go list price per unit in CNY; `None` for the legacy edition.
    pub list_price: Option<Decimal>,
    /// How usage is counted.
    pub metering: MeteringBasis,
    /// Which traffic packs cover it; `None` for the legacy edition.
    pub pack_type: Option<PackType>,
    /// Whether face photos are written back to the customer's object storage.
    pub stores_photos: bool,
    /// The console tab its scenes live under.
    pub tab: SolutionTab,
}

impl Solution {
    /// Every solution: the eight priced ones, then the legacy edition.
    pub const ALL: [Solution; 9] = [
        Solution::App,
        Solution::H5,
        Solution::ServerSide,
        Solution::AlipayMiniProgram,
        Solution::AlipayH5,
        Solution::LivenessFaceVerification,
        Solution::LivenessDetection,
        Solution::FaceComparison,
        Solution::LegacyFinancial,
    ];

    /// This solution's position in [`Solution::ALL`] (for per-solution arrays).
    pub fn index(self) -> usize {
        match self {
            Solution::App => 0,
            Solution::H5 => 1,
            Solution::ServerSide => 2,
            Solution::AlipayMiniProgram => 3,
            Solution::AlipayH5 => 4,
            Solution::LivenessFaceVerification => 5,
            Solution::LivenessDetection => 6,
            Solution::FaceComparison => 7,
            Solution::LegacyFinancial => 8,
        }
    }

    /// The eight priced solutions, in the order of the price table.
    pub const PRICED: &'static [Solution] = Solution::ALL.split_at(8).0;

    /// The price-table row of this solution.
    pub fn facts(self) -> SolutionFacts {
        use MeteringBasis::{PassedVerifications as Passed, SuccessfulCalls as Calls};
        let one = Decimal::ONE;
        let liveness = Decimal::new(182, 3);
        let compare = Decimal::new(6, 3);
        let (price, metering, pack, photos, tab) = match self {
            Solution::App => (Some(one), Calls, Some(PackType::RealPerson), true, SolutionTab::RealPerson),
            Solution::H5 => (Some(one), Calls, Some(PackType::RealPerson), true, SolutionTab::RealPerson),
            Solution::ServerSide => {
                (Some(one), Calls, Some(PackType::RealPerson), false, SolutionTab::RealPerson)
            }
            Solution::AlipayMiniProgram => {
                (Some(one), Passed, Some(PackType::RealPerson), false, SolutionTab::RealPerson)
            }
            Solution::AlipayH5 => {
                (Some(one), Passed, Some(PackType::RealPerson), false, SolutionTab::RealPerson)
            }
            Solution::LivenessFaceVerification => (
                Some(liveness),
                Calls,
                Some(PackType::LivenessFace),
                true,
                SolutionTab::LivenessFaceVerification,
            ),
            Solution::LivenessDetection => {
                (Some(liveness), Calls, Some(PackType::LivenessFace), true, SolutionTab::LivenessDetection)
            }
            Solution::FaceComparison => {
                (Some(compare), Calls, Some(PackType::FaceVerify), false, SolutionTab::FaceComparison)
            }
            Solution::LegacyFinancial => (None, Calls, None, false, SolutionTab::RealPerson),
        };
        SolutionFacts { list_price: price, metering, pack_type: pack, stores_photos: photos, tab }
    }

    /// The product codes that may be used under this solution.
    pub fn products(self) -> &'static [ProductCode] {
        use ProductCode as P;
        match self {
            Solution::App | Solution::H5 => &[P::IdPro, P::IdPlus, P::Mfvc, P::NfcQy],
            Solution::ServerSide => &[P::IdMin],
            Solution::AlipayMiniProgram | Solution::AlipayH5 => &[P::IdPro],
            Solution::LivenessFaceVerification => &[P::PvFv],
            Solution::LivenessDetection => &[P::LrFr, P::LrFrMin],
            Solution::FaceComparison => &[P::PvFc],
            Solution::LegacyFinancial => &[P::IdPro],
        }
    }

    /// The console name.
    pub fn title(self) -> &'static str {
        match self {
            Solution::App => "APP认证方案",
            Solution::H5 => "PC或移动端H5网页认证",
            Solution::ServerSide => "纯服务端接入",
            Solution::AlipayMiniProgram => "支付宝小程序",
            Solution::AlipayH5 => "支付宝H5页面",
            Solution::LivenessFaceVerification => "活体人脸验证",
            Solution::LivenessDetection => "活体检测",
            Solution::FaceComparison => "人脸比对",
            Solution::LegacyFinancial => "原金融版实人认证",
        }
    }
}

impl fmt::Display for Solution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// A solution has no price to charge (the legacy edition without a negotiated price).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("solution `{0}` has no list price; set a negotiated price for it")]
pub struct NoPrice(pub Solution);

/// Where unit prices come from: the list, or a negotiated contract (按QPS计费 and other
/// agreements) that overrides some solutions' prices for one account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// Negotiated unit prices (CNY) that replace the list price.
    pub overrides: BTreeMap<Solution, Decimal>,
}

impl Pricing {
    /// List prices only.
    pub fn list() -> Pricing {
        Pricing::default()
    }

    /// A negotiated contract with the given unit prices.
    pub fn negotiated(overrides: impl IntoIterator<Item = (Solution, Decimal)>) -> Pricing {
        Pricing { overrides: overrides.into_iter().collect() }
    }

    /// The unit price of `solution` under this pricing.
    pub fn unit_price(&self, solution: Solution) -> Result<Decimal, NoPrice> {
        self.overrides.get(&solution).copied().or(solution.facts().list_price).ok_or(NoPrice(solution))
    }
}
