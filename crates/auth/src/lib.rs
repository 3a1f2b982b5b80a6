#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod encode;
mod error;
mod keys;
mod oss;
mod replay;
mod rpc;
mod v3;

pub use crate::encode::{
    MAX_PARAMETERS, parse_query, percent_decode, pop_encode, pop_encode_path, sha256_hex,
};
pub use crate::error::{AuthError, QUOTE_CHARS, QuotaScope, Quoted, StringToSign};
pub use crate::keys::{AccessKeySecret, AccessKeys, ActiveKey, DirectoryKeys, SecretVault};
pub use crate::oss::{
    MAX_V4_EXPIRES, PHOTO_URL_LIFETIME, PhotoObject, Signer, V4SigningKey, presign_v1, presign_v4,
    presign_v4_with_key, v1_canonical_resource, v1_signature, v1_string_to_sign, v4_canonical_request,
    v4_signature, verify_presigned_v1, verify_presigned_v4,
};
pub use crate::replay::{
    BoundedNonces, MAX_NONCE_LEN, MAX_SKEW, NONCE_BYTES, NONCE_RETENTION, NonceLimits, NonceStore,
    check_nonce_length, check_timestamp,
};
pub use crate::rpc::{
    Authenticated, MAX_RPC_REQUEST_BYTES, RpcSignature, is_personal_parameter, rpc_string_to_sign, sign_rpc,
    signed_rpc_query, verify_rpc,
};
pub use crate::v3::{
    ACS3, MAX_V3_REQUEST_BYTES, V3Authorization, V3Request, default_signed_headers, parse_authorization,
    sign_v3, v3_canonical_request, verify_v3,
};
