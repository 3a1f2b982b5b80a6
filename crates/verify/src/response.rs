//! Responses with the cloud's field names (`RequestId`, `Code`, `Message`,
//! `ResultObject{CertifyId, Passed, SubCode, MaterialInfo}`), so a thin HTTP layer can
//! return them unchanged.

use serde::{Deserialize, Serialize};
use shiren_catalog::{CallCode, CertifyId, SubCode};
use shiren_face::MaterialInfo;

/// One API response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiResponse<T> {
    /// The request's ID.
    pub request_id: String,
    /// The call code (`"200"` on success).
    pub code: CallCode,
    /// A message a developer can act on.
    pub message: String,
    /// The result, on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_object: Option<T>,
}

impl<T> ApiResponse<T> {
    /// A success.
    pub fn ok(request_id: String, result: T) -> ApiResponse<T> {
        ApiResponse {
            request_id,
            code: CallCode::Success,
            message: "success".to_owned(),
            result_object: Some(result),
        }
    }

    /// A refusal with `code` and a specific message.
    pub fn refused(request_id: String, code: CallCode, message: impl Into<String>) -> ApiResponse<T> {
        ApiResponse { request_id, code, message: message.into(), result_object: None }
    }

    /// Whether the call succeeded.
    pub fn is_success(&self) -> bool {
        self.code.is_success()
    }
}

/// `InitFaceVerify`'s result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitResult {
    /// The new session's certify ID.
    pub certify_id: CertifyId,
}

/// A verification's result (Describe, Contrast, Compare, Liveness).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyResult {
    /// The session.
    pub certify_id: CertifyId,
    /// `"T"` or `"F"`.
    #[serde(with = "t_or_f")]
    pub passed: bool,
    /// Why.
    pub sub_code: SubCode,
    /// The scores; absent when the verification ended before any face was scored
    /// (sub codes 201, 202, 203, 209).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub material_info: Option<MaterialInfo>,
}

/// `DeleteFaceVerifyResult`'s result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteResult {
    /// The session.
    pub certify_id: CertifyId,
    /// `"T"` once deleted.
    #[serde(with = "t_or_f")]
    pub deleted: bool,
    /// Why nothing was deleted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fail_reason: Option<DeleteFailure>,
}

/// Why `DeleteFaceVerifyResult` deleted nothing (the cloud's `FailReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeleteFailure {
    /// The personal data was deleted before.
    #[serde(rename = "NOT_DELETE_REPEATEDLY")]
    NotDeleteRepeatedly,
    /// `DeleteAfterQuery=Y`, and the result has not been read yet.
    #[serde(rename = "NEED_QUERY_VERIFY_RESULT")]
    NeedQueryVerifyResult,
}

pub(crate) use shiren_catalog::quote;

/// `bool` as the API's `"T"` / `"F"`.
mod t_or_f {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *value { "T" } else { "F" })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match String::deserialize(d)?.as_str() {
            "T" => Ok(true),
            "F" => Ok(false),
            other => Err(serde::de::Error::custom(format!("`{other}` is neither `T` nor `F`"))),
        }
    }
}
