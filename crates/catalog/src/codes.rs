//! Call codes (`Code`, a closed set) and sub codes (`SubCode`, an open set: unknown ones
//! round-trip unchanged).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! call_codes {
    ($($variant:ident = $code:literal, $message:literal;)*) => {
        /// The `Code` of an API response.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CallCode { $(#[doc = $message] $variant),* }

        impl CallCode {
            /// Every call code.
            pub const ALL: &'static [CallCode] = &[$(CallCode::$variant),*];

            /// The numeric code.
            pub fn code(self) -> u16 {
                match self { $(CallCode::$variant => $code),* }
            }

            /// What the code means, for the `Message` field.
            pub fn message(self) -> &'static str {
                match self { $(CallCode::$variant => $message),* }
            }

            /// The call code with numeric value `code`.
            pub fn from_code(code: u16) -> Option<CallCode> {
                match code { $($code => Some(CallCode::$variant),)* _ => None }
            }
        }
    };
}

call_codes! {
    Success = 200, "success";
    MissingParameter = 400, "a required parameter is missing";
    InvalidParameter = 401, "a parameter is invalid (name or ID number malformed)";
    AppConfigurationMissing = 402, "app configuration missing";
    SceneNotFound = 404, "the scene does not exist";
    UnderFourteen = 405, "the person is under 14";
    InvalidCertifyId = 406, "invalid certify ID";
    NotActivated = 410, "the service or object storage is not activated or authorized";
    RamPermissionDenied = 411, "RAM has no permission; grant AliyunAntCloudAuthFullAccess";
    InArrears = 412, "the account (or its object storage) is in arrears";
    DeviceUnsupported = 414, "device type not supported";
    SdkUnsupported = 415, "SDK version not supported";
    OsUnsupported = 416, "OS version not supported";
    IdentitySourceUnusable = 417, "the identity source is unusable for this identity";
    TooManyFailures = 418, "too many failed attempts today";
    ImageUnusable = 419, "the image is unusable";
    MultipleImageSources = 420, "more than one image source was given";
    ImageTooLarge = 421, "the image is larger than 1 MB";
    ImageDownloadTimeout = 422, "image download timed out";
    ReferenceNotPassed = 423, "the referenced certify ID is not in state T";
    NotCompleted = 424, "the verification has not completed";
    BusinessPolicyRestriction = 427, "restricted by business policy";
    SystemError = 500, "system error";
}

impl CallCode {
    /// Whether this code means the call succeeded.
    pub fn is_success(self) -> bool {
        self == CallCode::Success
    }
}

impl fmt::Display for CallCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// Serialized as the decimal string the API returns (`"200"`).
impl Serialize for CallCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CallCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = deserialize_code(deserializer)?;
        CallCode::from_code(code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown call code `{code}`")))
    }
}

fn deserialize_code<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Number(u16),
        Text(String),
    }
    match Wire::deserialize(deserializer)? {
        Wire::Number(n) => Ok(n),
        Wire::Text(t) => {
            t.parse().map_err(|_| serde::de::Error::custom(format!("`{t}` is not a numeric code")))
        }
    }
}

/// The `SubCode` of a completed verification. Open: codes this version does not know
/// are kept and printed unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubCode(u16);

impl SubCode {
    /// 200: passed.
    pub const PASS: SubCode = SubCode(200);
    /// 201: name and ID number do not match.
    pub const NAME_ID_MISMATCH: SubCode = SubCode(201);
    /// 202: identity not found.
    pub const IDENTITY_NOT_FOUND: SubCode = SubCode(202);
    /// 203: authority photo missing or unusable.
    pub const AUTHORITY_PHOTO_UNUSABLE: SubCode = SubCode(203);
    /// 204: the face does not match.
    pub const FACE_MISMATCH: SubCode = SubCode(204);
    /// 205: liveness risk (possible attack).
    pub const LIVENESS_RISK: SubCode = SubCode(205);
    /// 206: business-policy restriction.
    pub const BUSINESS_POLICY: SubCode = SubCode(206);
    /// 207: face vs ID-card portrait mismatch (ID_PLUS).
    pub const ID_CARD_PORTRAIT_MISMATCH: SubCode = SubCode(207);
    /// 209: authority source error.
    pub const AUTHORITY_SOURCE_ERROR: SubCode = SubCode(209);
    /// 210: passed by policy.
    pub const PASS_BY_POLICY: SubCode = SubCode(210);

    /// A sub code from its number (known or not).
    pub const fn new(code: u16) -> SubCode {
        SubCode(code)
    }

    /// The number.
    pub fn code(self) -> u16 {
        self.0
    }

    /// What the sub code means; `None` for codes this version does not know.
    pub fn meaning(self) -> Option<&'static str> {
        Some(match self.0 {
            200 => "pass",
            201 => "name and ID number do not match",
            202 => "identity not found",
            203 => "authority photo missing or unusable",
            204 => "face does not match",
            205 => "liveness risk (possible attack)",
            206 => "business-policy restriction",
            207 => "face vs ID-card portrait mismatch",
            209 => "authority source error",
            210 => "pass by policy",
            220..=222 => "intent verification failed",
            _ => return None,
        })
    }

    /// Whether the verdict is a pass (200, 210).
    pub fn is_pass(self) -> bool {
        matches!(self.0, 200 | 210)
    }

    /// Whether a completed verification with this sub code is billable (200–206).
    pub fn is_billable(self) -> bool {
        (200..=206).contains(&self.0)
    }
}

impl fmt::Display for SubCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Serialized as the decimal string the API returns (`"204"`).
impl Serialize for SubCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SubCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_code(deserializer).map(SubCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_codes_table() {
        let expected = [
            200, 400, 401, 402, 404, 405, 406, 410, 411, 412, 414, 415, 416, 417, 418, 419, 420, 421, 422,
            423, 424, 427, 500,
        ];
        let codes: Vec<u16> = CallCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, expected);
        for code in CallCode::ALL {
            assert_eq!(CallCode::from_code(code.code()), Some(*code));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(serde_json::from_str::<CallCode>(&json).unwrap(), *code);
        }
        assert!(CallCode::RamPermissionDenied.message().contains("AliyunAntCloudAuthFullAccess"));
        assert!(serde_json::from_str::<CallCode>("\"403\"").is_err());
        assert_eq!(serde_json::from_str::<CallCode>("412").unwrap(), CallCode::InArrears);
    }

    #[test]
    fn sub_codes_billable_and_pass() {
        for code in 200..=206 {
            assert!(SubCode::new(code).is_billable(), "{code}");
        }
        for code in [207, 209, 210, 220, 221, 222, 199, 999] {
            assert!(!SubCode::new(code).is_billable(), "{code}");
        }
        assert!(SubCode::PASS.is_pass() && SubCode::PASS_BY_POLICY.is_pass());
        assert!(!SubCode::FACE_MISMATCH.is_pass());
        assert_eq!(SubCode::new(221).meaning(), Some("intent verification failed"));
    }

    #[test]
    fn unknown_sub_codes_round_trip_unchanged() {
        let unknown: SubCode = serde_json::from_str("\"299\"").unwrap();
        assert_eq!(unknown.meaning(), None);
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"299\"");
        assert_eq!(serde_json::from_str::<SubCode>("204").unwrap(), SubCode::FACE_MISMATCH);
        assert!(serde_json::from_str::<SubCode>("\"abc\"").is_err());
    }
}
