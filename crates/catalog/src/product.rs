//! Product codes, the console's solution tabs, the API each product uses, and the
//! liveness models a session may request.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    (
        $(#[$meta:meta])* $name:ident, $error:ident, $what:literal,
        { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)*
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[doc = concat!("An unknown ", $what, ".")]
        #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
        #[error("unknown {what}: `{0}`", what = $what)]
        pub struct $error(pub String);

        impl FromStr for $name {
            type Err = $error;
            fn from_str(text: &str) -> Result<$name, $error> {
                $name::ALL.iter().copied().find(|v| v.as_str() == text).ok_or_else(|| $error(text.to_owned()))
            }
        }
    };
}

wire_enum! {
    /// The product code of a verification (`ProductCode` on the wire).
    ProductCode, UnknownProductCode, "product code",
    {
        /// Name + ID number; liveness; compare with the authority photo.
        IdPro => "ID_PRO",
        /// ID card photographed (OCR); compare with authority photo and card portrait.
        IdPlus => "ID_PLUS",
        /// Pure server-side: one photo + name + ID number (ContrastFaceVerify).
        IdMin => "ID_MIN",
        /// Liveness + compare with a photo the customer supplies.
        PvFv => "PV_FV",
        /// Liveness only.
        LrFr => "LR_FR",
        /// Server-side liveness on one image (LivenessFaceVerify).
        LrFrMin => "LR_FR_MIN",
        /// Compare two photos, no identity check (CompareFaceVerify).
        PvFc => "PV_FC",
        /// Multi-factor intent verification.
        Mfvc => "MFVC",
        /// Passport NFC chip + face.
        NfcQy => "NFC_QY",
    }
}

wire_enum! {
    /// The liveness model a session requests.
    LivenessModel, UnknownLivenessModel, "liveness model",
    {
        /// Blink (default).
        Liveness => "LIVENESS",
        /// Blink + colour light.
        PhotinusLiveness => "PHOTINUS_LIVENESS",
        /// Blink + head shake.
        MultiAction => "MULTI_ACTION",
        /// Move closer / farther + blink (recommended).
        MoveAction => "MOVE_ACTION",
        /// Move + colour light.
        MovePhotinus => "MOVE_PHOTINUS",
        /// Multi action + colour light.
        MultiPhotinus => "MULTI_PHOTINUS",
        /// Multi action + FAPTCHA.
        MultiFaptcha => "MULTI_FAPTCHA",
    }
}

impl Default for LivenessModel {
    fn default() -> LivenessModel {
        LivenessModel::Liveness
    }
}

wire_enum! {
    /// The console's access-solution tabs; every scene belongs to one.
    SolutionTab, UnknownSolutionTab, "solution tab",
    {
        /// 金融级实人认证.
        RealPerson => "REAL_PERSON",
        /// 金融级活体人脸认证.
        LivenessFaceVerification => "LIVENESS_FACE_VERIFICATION",
        /// 金融级活体检测.
        LivenessDetection => "LIVENESS_DETECTION",
        /// 金融级人脸比对.
        FaceComparison => "FACE_COMPARISON",
    }
}

impl SolutionTab {
    /// The tab's title in the console.
    pub fn title(self) -> &'static str {
        match self {
            SolutionTab::RealPerson => "金融级实人认证",
            SolutionTab::LivenessFaceVerification => "金融级活体人脸认证",
            SolutionTab::LivenessDetection => "金融级活体检测",
            SolutionTab::FaceComparison => "金融级人脸比对",
        }
    }
}

/// The API a product is called through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Api {
    /// `InitFaceVerify` → client SDK → `DescribeFaceVerify`.
    InitDescribe,
    /// `ContrastFaceVerify` (synchronous).
    ContrastFaceVerify,
    /// `LivenessFaceVerify` (synchronous).
    LivenessFaceVerify,
    /// `CompareFaceVerify` (synchronous).
    CompareFaceVerify,
}

impl ProductCode {
    /// The API this product is called through.
    pub fn api(self) -> Api {
        match self {
            ProductCode::IdMin => Api::ContrastFaceVerify,
            ProductCode::LrFrMin => Api::LivenessFaceVerify,
            ProductCode::PvFc => Api::CompareFaceVerify,
            _ => Api::InitDescribe,
        }
    }

    /// Whether the product checks name + ID number against the identity authority.
    pub fn checks_identity(self) -> bool {
        matches!(self, ProductCode::IdPro | ProductCode::IdPlus | ProductCode::IdMin | ProductCode::Mfvc)
    }

    /// Whether the product runs a liveness check.
    pub fn checks_liveness(self) -> bool {
        !matches!(self, ProductCode::PvFc)
    }

    /// The rate limit per main account, in queries per second.
    pub fn qps_limit(self) -> u32 {
        match self {
            ProductCode::PvFc | ProductCode::Mfvc | ProductCode::NfcQy => 10,
            _ => 50,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_codes_round_trip_on_the_wire() {
        let wire = ["ID_PRO", "ID_PLUS", "ID_MIN", "PV_FV", "LR_FR", "LR_FR_MIN", "PV_FC", "MFVC", "NFC_QY"];
        assert_eq!(ProductCode::ALL.len(), wire.len());
        for (code, text) in ProductCode::ALL.iter().zip(wire) {
            assert_eq!(code.as_str(), text);
            assert_eq!(text.parse::<ProductCode>(), Ok(*code));
            assert_eq!(serde_json::to_string(code).unwrap(), format!("\"{text}\""));
        }
        assert_eq!(
            "id_pro".parse::<ProductCode>().unwrap_err().to_string(),
            "unknown product code: `id_pro`"
        );
        assert!(serde_json::from_str::<ProductCode>("\"ID_MAX\"").is_err());
    }

    #[test]
    fn apis() {
        assert_eq!(ProductCode::IdMin.api(), Api::ContrastFaceVerify);
        assert_eq!(ProductCode::LrFrMin.api(), Api::LivenessFaceVerify);
        assert_eq!(ProductCode::PvFc.api(), Api::CompareFaceVerify);
        assert_eq!(ProductCode::IdPro.api(), Api::InitDescribe);
        assert_eq!(ProductCode::PvFc.qps_limit(), 10);
        assert_eq!(ProductCode::IdPro.qps_limit(), 50);
    }

    #[test]
    fn liveness_models() {
        assert_eq!(LivenessModel::ALL.len(), 7);
        assert_eq!(LivenessModel::default().as_str(), "LIVENESS");
        assert_eq!("MOVE_ACTION".parse::<LivenessModel>(), Ok(LivenessModel::MoveAction));
    }
}
