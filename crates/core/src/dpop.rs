//! Tokens bound to this device (DPoP, RFC 9449): a per-account ES256 key, kept in the account's
//! keychain token-set entry so it is written and rotated with the tokens, and the proof every
//! request with a bound token carries.
//!
//! The proof is a JWS made by `jsonwebtoken`, on `ring`, the library TLS already carries (no
//! second crypto stack). The key never leaves the core: it has no `Serialize`, prints redacted
//! and is zeroized when dropped.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SecretString;

/// The one algorithm the app signs proofs with.
pub const ALG: &str = "ES256";

/// Whether a server's `dpop_signing_alg_values_supported` lets the app bind tokens.
pub fn supported(algs: &[String]) -> bool {
    algs.iter().any(|a| a == ALG)
}

/// An account's proof-of-possession key (PKCS#8, P-256).
#[derive(Clone)]
pub struct DpopKey {
    pkcs8: Zeroizing<Vec<u8>>,
    /// The public JWK's coordinates, base64url.
    x: String,
    y: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DpopKey([redacted])")
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    jti: String,
    htm: &'a str,
    htu: String,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
}

fn damaged() -> Error {
    Error::new(
        crate::error::ErrorKind::Keychain,
        "this account's device key in the keychain is damaged",
    )
    .hint("connect the account again")
}

impl DpopKey {
    pub fn generate() -> Result<Self> {
        let rng = ring::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::internal("cannot make a device key"))?;
        Self::from_pkcs8(doc.as_ref()).map_err(|_| Error::internal("cannot read a new device key"))
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self> {
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|_| damaged())?;
        // An uncompressed point: 0x04, then x and y (32 bytes each).
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(damaged());
        }
        Ok(Self {
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            x: B64.encode(&point[1..33]),
            y: B64.encode(&point[33..]),
        })
    }

    /// The key as the keychain keeps it (inside the token-set entry).
    pub fn to_secret(&self) -> SecretString {
        SecretString::new(B64.encode(self.pkcs8.as_slice()))
    }

    pub fn from_secret(stored: &SecretString) -> Result<Self> {
        let bytes = Zeroizing::new(B64.decode(stored.expose()).map_err(|_| damaged())?);
        Self::from_pkcs8(&bytes)
    }

    /// The JWK thumbprint (RFC 7638): the members `crv`, `kty`, `x`, `y` in that order, no
    /// spaces, SHA-256, base64url. Sent as `dpop_jkt`; servers put it in the token's `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        );
        B64.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    fn jwk(&self) -> jsonwebtoken::jwk::Jwk {
        use jsonwebtoken::jwk::{
            AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
            EllipticCurveKeyType, Jwk,
        };
        Jwk {
            common: CommonParameters::default(),
            algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: self.x.clone(),
                y: self.y.clone(),
            }),
        }
    }

    /// A proof for one request (RFC 9449 §4.2): `htu` is the URL without query and fragment;
    /// `ath` binds it to the access token it goes with (resource calls).
    pub fn proof(
        &self,
        method: &str,
        url: &url::Url,
        nonce: Option<&str>,
        access_token: Option<&SecretString>,
    ) -> Result<String> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let claims = Claims {
            jti: uuid::Uuid::new_v4().to_string(),
            htm: method,
            htu: htu.to_string(),
            iat: time::OffsetDateTime::now_utc().unix_timestamp(),
            nonce,
            ath: access_token.map(|t| {
                B64.encode(ring::digest::digest(
                    &ring::digest::SHA256,
                    t.expose().as_bytes(),
                ))
            }),
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk());
        let key = jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8);
        jsonwebtoken::encode(&header, &claims, &key)
            .map_err(|e| Error::internal("cannot sign a DPoP proof").cause(e))
    }
}

/// The key an account's tokens are bound to, if they are.
pub fn key_of(tokens: &crate::secret::TokenSet) -> Result<Option<DpopKey>> {
    tokens
        .dpop_key
        .as_ref()
        .map(DpopKey::from_secret)
        .transpose()
}

/// The last `DPoP-Nonce` each server gave (RFC 9449 §8, §9), by origin: sent with the next proof
/// so a server that requires nonces is asked once per process, not once per request.
fn nonces() -> &'static Mutex<HashMap<String, String>> {
    static NONCES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    NONCES.get_or_init(Default::default)
}

pub fn nonce_for(url: &url::Url) -> Option<String> {
    let map = nonces().lock().expect("nonces poisoned");
    map.get(&url.origin().ascii_serialization()).cloned()
}

/// Keeps the `DPoP-Nonce` a reply carried (a nonce is not a secret: the server hands it out).
/// Returns whether it is new, i.e. whether a retry with it can help.
pub fn remember_nonce(url: &url::Url, headers: &reqwest::header::HeaderMap) -> bool {
    let Some(nonce) = headers
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.len() <= 1024 && n.bytes().all(|b| b.is_ascii_graphic()))
    else {
        return false;
    };
    let mut map = nonces().lock().expect("nonces poisoned");
    let origin = url.origin().ascii_serialization();
    if map.get(&origin).map(String::as_str) == Some(nonce) {
        return false;
    }
    map.insert(origin, nonce.to_string());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_the_keychain_and_its_proofs_carry_what_rfc_9449_asks() {
        let key = DpopKey::generate().unwrap();
        let back = DpopKey::from_secret(&key.to_secret()).unwrap();
        assert_eq!(key.thumbprint(), back.thumbprint());
        assert_eq!(format!("{key:?}"), "DpopKey([redacted])");
        let url = url::Url::parse("https://api.example.test/v1/me?x=1#f").unwrap();
        let token = SecretString::new("at-123");
        let proof = back.proof("GET", &url, Some("n-1"), Some(&token)).unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["kty"], "EC");
        assert_eq!(header["jwk"]["crv"], "P-256");
        assert!(
            header["jwk"].get("d").is_none(),
            "no private part: {header}"
        );
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://api.example.test/v1/me");
        assert_eq!(claims["nonce"], "n-1");
        let ath = B64.encode(ring::digest::digest(&ring::digest::SHA256, b"at-123"));
        assert_eq!(claims["ath"], ath);
        // The signature verifies with the public key in the header.
        let mut point = vec![4u8];
        point.extend(B64.decode(header["jwk"]["x"].as_str().unwrap()).unwrap());
        point.extend(B64.decode(header["jwk"]["y"].as_str().unwrap()).unwrap());
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            point,
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(signed.as_bytes(), &B64.decode(parts[2]).unwrap())
            .expect("the proof verifies");
        // Two proofs never share a jti.
        let other = back.proof("GET", &url, None, None).unwrap();
        let other: serde_json::Value =
            serde_json::from_slice(&B64.decode(other.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_ne!(other["jti"], claims["jti"]);
        assert!(other.get("ath").is_none() && other.get("nonce").is_none());
    }

    #[test]
    fn a_damaged_key_is_a_clear_error() {
        let e = DpopKey::from_secret(&SecretString::new("AAAA")).unwrap_err();
        assert!(e.message.contains("device key"), "{}", e.message);
    }

    #[test]
    fn a_nonce_is_kept_per_origin_and_a_repeated_one_asks_for_no_retry() {
        let url = url::Url::parse("http://127.0.0.1:9/token").unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("dpop-nonce", "abc".parse().unwrap());
        assert!(remember_nonce(&url, &headers));
        assert!(!remember_nonce(&url, &headers), "same nonce: no retry");
        let other = url::Url::parse("http://127.0.0.1:9/userinfo").unwrap();
        assert_eq!(nonce_for(&other).as_deref(), Some("abc"));
        headers.insert("dpop-nonce", "bad nonce".parse().unwrap());
        assert!(!remember_nonce(&url, &headers));
    }
}
