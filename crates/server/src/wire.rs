//! The cloud's wire form, both ways: request parameters (names as the cloud's SDKs send
//! them) into the flow's request types, and the flow's responses into the JSON the
//! SDKs' response models read (`MaterialInfo` as a JSON string, `DeleteResult` as
//! `Y`/`N`, `CertifyUrl` beside `CertifyId`, `VerifyScore` for comparisons). Pure
//! translation: every check stays in `shiren-verify`.

use std::collections::HashMap;

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};
use shiren_catalog::Photo;
use shiren_face::MaterialInfo;
use shiren_records::DeleteMode;
use shiren_verify::{
    ApiResponse, CompareRequest, ContrastRequest, DeleteResult, InitRequest, InitResult, LivenessRequest,
    PhotoSources, VerifyResult,
};

/// The decoded parameters of one request (query and form body together).
pub(crate) struct Params(HashMap<String, String>);

/// A parameter that cannot be read; answered with the cloud's 401 "参数非法".
#[derive(Debug, thiserror::Error)]
#[error("parameter `{name}` is invalid: {why}")]
pub(crate) struct BadParam {
    /// The parameter.
    pub(crate) name: &'static str,
    /// Why.
    pub(crate) why: &'static str,
}

impl Params {
    /// From decoded (name, value) pairs.
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Params {
        Params(pairs.into_iter().collect())
    }

    /// A text parameter; empty counts as absent (the SDKs omit unset fields, forms send
    /// them empty).
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }

    fn number(&self, name: &'static str) -> Result<Option<u64>, BadParam> {
        self.text(name)
            .map(|v| v.trim().parse::<u64>().map_err(|_| BadParam { name, why: "not a whole number" }))
            .transpose()
    }

    fn picture(&self, name: &'static str) -> Result<Option<Bytes>, BadParam> {
        let Some(text) = self.0.get(name).filter(|v| !v.is_empty()) else { return Ok(None) };
        // Base64 with or without padding; white space (line breaks from some encoders)
        // is dropped first.
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        engine.decode(compact).map(|b| Some(Bytes::from(b))).map_err(|_| BadParam { name, why: "not Base64" })
    }

    /// The four sources of one photo field, named with `prefix` (`""`, `Source`,
    /// `Target`).
    fn photo(&self, prefix: &str) -> Result<PhotoSources, BadParam> {
        let field = |suffix: &str| format!("{prefix}{suffix}");
        let picture_name: &'static str = match prefix {
            "Source" => "SourceFaceContrastPicture",
            "Target" => "TargetFaceContrastPicture",
            _ => "FaceContrastPicture",
        };
        let oss = match (self.text(&field("OssBucketName")), self.text(&field("OssObjectName"))) {
            (Some(bucket), Some(object)) => Some((bucket, object)),
            _ => None,
        };
        Ok(PhotoSources {
            picture: self.picture(picture_name)?.map(Photo::from),
            url: self.text(&field("FaceContrastPictureUrl")),
            certify_id: self.text(&field("CertifyId")),
            oss_object: oss,
        })
    }

    /// `DeleteAfterQuery`: `Y` deletes only a result already read, `N` (the default) now.
    pub(crate) fn delete_mode(&self) -> Result<DeleteMode, BadParam> {
        match self.text("DeleteAfterQuery").as_deref() {
            None | Some("N") => Ok(DeleteMode::Now),
            Some("Y") => Ok(DeleteMode::AfterQuery),
            Some(_) => Err(BadParam { name: "DeleteAfterQuery", why: "not Y or N" }),
        }
    }

    /// `InitFaceVerify`'s parameters.
    pub(crate) fn init(&self) -> Result<InitRequest, BadParam> {
        Ok(InitRequest {
            scene_id: self.number("SceneId")?,
            outer_order_no: self.text("OuterOrderNo"),
            product_code: self.text("ProductCode"),
            model: self.text("Model"),
            cert_type: self.text("CertType"),
            cert_name: self.text("CertName").map(Into::into),
            cert_no: self.text("CertNo").map(Into::into),
            user_id: self.text("UserId").map(Into::into),
            face_contrast: self.photo("")?,
        })
    }

    /// `ContrastFaceVerify`'s parameters.
    pub(crate) fn contrast(&self) -> Result<ContrastRequest, BadParam> {
        Ok(ContrastRequest {
            scene_id: self.number("SceneId")?,
            outer_order_no: self.text("OuterOrderNo"),
            product_code: self.text("ProductCode"),
            cert_type: self.text("CertType"),
            cert_name: self.text("CertName").map(Into::into),
            cert_no: self.text("CertNo").map(Into::into),
            user_id: self.text("UserId").map(Into::into),
            face_contrast: self.photo("")?,
        })
    }

    /// `CompareFaceVerify`'s parameters.
    pub(crate) fn compare(&self) -> Result<CompareRequest, BadParam> {
        Ok(CompareRequest {
            scene_id: self.number("SceneId")?,
            outer_order_no: self.text("OuterOrderNo"),
            product_code: self.text("ProductCode"),
            source: self.photo("Source")?,
            target: self.photo("Target")?,
        })
    }

    /// `LivenessFaceVerify`'s parameters.
    pub(crate) fn liveness(&self) -> Result<LivenessRequest, BadParam> {
        Ok(LivenessRequest {
            scene_id: self.number("SceneId")?,
            outer_order_no: self.text("OuterOrderNo"),
            product_code: self.text("ProductCode"),
            user_id: self.text("UserId").map(Into::into),
            face_contrast: self.photo("")?,
        })
    }
}

/// The JSON of a response, `ResultObject` reshaped by `shape`.
fn with_result<T: Serialize>(
    response: &ApiResponse<T>,
    shape: impl FnOnce(&mut Map<String, Value>),
) -> Value {
    let mut value = serde_json::to_value(response).unwrap_or_else(|e| {
        json!({"RequestId": response.request_id, "Code": "500", "Message": format!("could not encode: {e}")})
    });
    if let Some(Value::Object(result)) = value.get_mut("ResultObject") {
        shape(result);
    }
    value
}

/// `InitFaceVerify`: `CertifyUrl` added (the device's submission address).
pub(crate) fn init_json(response: &ApiResponse<InitResult>, certify_url: Option<String>) -> Value {
    with_result(response, |result| {
        if let Some(url) = certify_url {
            result.insert("CertifyUrl".to_owned(), Value::String(url));
        }
    })
}

/// `MaterialInfo` in the cloud's shape: the two verdict flags as `T`/`F` at the top,
/// the scores and quality flags (`"0"`/`"1"`) under `facialPictureFront`. shiren's
/// honesty fields stay beside them: `verifyScoreCalibrated` (whether `verifyScore` is
/// a calibrated mapping) and `attackModel` (which liveness model scored the attack).
pub(crate) fn material_json(m: &MaterialInfo) -> Value {
    let flag = |b: bool| Value::String(if b { "1" } else { "0" }.to_owned());
    let t_or_f = |b: bool| Value::String(if b { "T" } else { "F" }.to_owned());
    let mut front = Map::new();
    front.insert("faceAttackScore".to_owned(), json!(m.face_attack_score));
    front.insert("qualityScore".to_owned(), json!(m.quality_score));
    front.insert("qualityBackground".to_owned(), flag(m.quality_background));
    front.insert("qualityBlur".to_owned(), flag(m.quality_blur));
    front.insert("qualityIllu".to_owned(), flag(m.quality_illu));
    front.insert("qualityOccu".to_owned(), flag(m.quality_occu));
    if let Some(hat) = m.quality_wear_hat {
        front.insert("qualityWearHat".to_owned(), t_or_f(hat));
    }
    if let Some(score) = m.verify_score {
        front.insert("verifyScore".to_owned(), json!(score));
    }
    front.insert("verifyScoreCalibrated".to_owned(), Value::Bool(m.verify_score_calibrated));
    front.insert("attackModel".to_owned(), Value::String(m.attack_model.to_string()));
    json!({
        "faceAttack": t_or_f(m.face_attack),
        "faceOcclusion": t_or_f(m.face_occlusion),
        "facialPictureFront": Value::Object(front),
    })
}

/// A verification result: `MaterialInfo` as the JSON string the cloud sends, and
/// `VerifyScore` at the top for `CompareFaceVerify`.
pub(crate) fn verify_json(response: &ApiResponse<VerifyResult>, compare: bool) -> Value {
    let material = response.result_object.as_ref().and_then(|r| r.material_info.as_ref());
    with_result(response, |result| {
        result.remove("MaterialInfo");
        if compare {
            let score = material.and_then(|m| m.verify_score).map_or(Value::Null, |s| json!(s));
            result.insert("VerifyScore".to_owned(), score);
        }
        if let Some(material) = material {
            result.insert("MaterialInfo".to_owned(), Value::String(material_json(material).to_string()));
        }
    })
}

/// `DeleteFaceVerifyResult`: `DeleteResult` `Y`/`N`.
pub(crate) fn delete_json(response: &ApiResponse<DeleteResult>) -> Value {
    with_result(response, |result| {
        let deleted = result.remove("Deleted").and_then(|d| d.as_str().map(|s| s == "T")).unwrap_or(false);
        result.insert("DeleteResult".to_owned(), Value::String(if deleted { "Y" } else { "N" }.to_owned()));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn photos_decode_with_or_without_padding_and_refuse_garbage() -> Result<(), BadParam> {
        let padded = params(&[("FaceContrastPicture", "aGk=")]).init()?;
        assert_eq!(padded.face_contrast.picture.as_deref(), Some(&b"hi"[..]));
        let bare = params(&[("FaceContrastPicture", "aGk")]).init()?;
        assert_eq!(bare.face_contrast.picture.as_deref(), Some(&b"hi"[..]));
        assert!(params(&[("FaceContrastPicture", "@@@")]).init().is_err());
        assert!(params(&[("SceneId", "12x")]).init().is_err());
        Ok(())
    }

    #[test]
    fn compare_reads_both_photo_fields() -> Result<(), BadParam> {
        let req = params(&[
            ("SourceFaceContrastPicture", "aGk="),
            ("TargetCertifyId", "abc"),
            ("TargetOssBucketName", "b"),
        ])
        .compare()?;
        assert_eq!(req.source.count(), 1);
        // A bucket without an object name is no OSS source.
        assert_eq!(req.target.count(), 1);
        Ok(())
    }
}
