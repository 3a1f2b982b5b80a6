//! The traffic-pack catalog: every spec of the three pack types with its price, and the
//! free 100-unit pack (first purchase only).

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A traffic-pack type; each covers some solutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PackType {
    /// 实人认证流量包: APP, H5, server-side, Alipay mini program and H5.
    RealPerson,
    /// 活体人脸验证流量包: liveness face verification and liveness detection.
    LivenessFace,
    /// 人脸比对流量包: face comparison.
    FaceVerify,
}

impl PackType {
    /// Every pack type.
    pub const ALL: &'static [PackType] =
        &[PackType::RealPerson, PackType::LivenessFace, PackType::FaceVerify];

    /// The pay-as-you-go list price of one unit this pack type covers.
    pub fn unit_list_price(self) -> Decimal {
        match self {
            PackType::RealPerson => Decimal::ONE,
            PackType::LivenessFace => Decimal::new(182, 3),
            PackType::FaceVerify => Decimal::new(6, 3),
        }
    }

    /// The pack name as the console shows it.
    pub fn title(self) -> &'static str {
        match self {
            PackType::RealPerson => "实人认证流量包",
            PackType::LivenessFace => "活体人脸验证流量包",
            PackType::FaceVerify => "人脸比对流量包",
        }
    }
}

impl fmt::Display for PackType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// One purchasable pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackSpec {
    /// The pack type.
    pub pack_type: PackType,
    /// Units (verifications) it holds.
    pub units: u64,
    /// Price in CNY.
    pub price: Decimal,
    /// Only the first purchase of this type per account may buy it (the free pack).
    pub first_purchase_only: bool,
}

impl PackSpec {
    /// What the units would cost at the list price.
    pub fn list_value(&self) -> Decimal {
        Decimal::from(self.units) * self.pack_type.unit_list_price()
    }

    /// Price as a share of the list value (e.g. `0.9` for 90 %); `None` for a free pack.
    pub fn discount(&self) -> Option<Decimal> {
        if self.price.is_zero() {
            return None;
        }
        self.price.checked_div(self.list_value())
    }
}

const fn spec(pack_type: PackType, units: u64, price: i64) -> PackSpec {
    PackSpec {
        pack_type,
        units,
        price: Decimal::from_parts(price as u32, 0, 0, false, 0),
        first_purchase_only: price == 0,
    }
}

/// Every pack of the catalog, by type then size.
pub const PACK_CATALOG: &[PackSpec] = &[
    spec(PackType::RealPerson, 100, 0),
    spec(PackType::RealPerson, 50_000, 50_000),
    spec(PackType::RealPerson, 100_000, 90_000),
    spec(PackType::RealPerson, 200_000, 160_000),
    spec(PackType::RealPerson, 500_000, 350_000),
    spec(PackType::RealPerson, 1_500_000, 1_050_000),
    spec(PackType::LivenessFace, 100, 0),
    spec(PackType::LivenessFace, 50_000, 9_100),
    spec(PackType::LivenessFace, 100_000, 16_380),
    spec(PackType::LivenessFace, 200_000, 29_120),
    spec(PackType::LivenessFace, 500_000, 63_700),
    spec(PackType::LivenessFace, 1_500_000, 191_100),
    spec(PackType::FaceVerify, 1_000_000, 3_600),
    spec(PackType::FaceVerify, 3_000_000, 8_100),
];

/// No pack of that type and size is sold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no {pack_type} of {units} units is sold")]
pub struct UnknownPack {
    /// The pack type asked for.
    pub pack_type: PackType,
    /// The size asked for.
    pub units: u64,
}

/// The catalog entry for `pack_type` with `units`.
pub fn pack_spec(pack_type: PackType, units: u64) -> Result<PackSpec, UnknownPack> {
    PACK_CATALOG
        .iter()
        .copied()
        .find(|p| p.pack_type == pack_type && p.units == units)
        .ok_or(UnknownPack { pack_type, units })
}
