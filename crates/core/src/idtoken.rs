//! Checking an ID token (OpenID Connect Core §3.1.3.7) with jsonwebtoken on ring: the crypto TLS
//! already carries, so no second signature stack is linked.
//!
//! The rules: a JWS (never a JWE or a nested JWT, no `crit`), `typ` absent or a JWT type, an
//! asymmetric algorithm (a public client has no secret to check an HMAC with), exactly one key of
//! the issuer's set that fits the header's `kid` and algorithm, the issuer exactly, this client as
//! the only audience (and `azp`, when present), not expired, and the nonce the request sent.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::secret::SecretString;

/// The claims the app reads; the rest of the token is ignored.
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// A boolean, or the string "true" some servers send.
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    nonce: Option<String>,
    aud: Audiences,
    #[serde(default)]
    azp: Option<String>,
}

impl Claims {
    pub fn email_verified(&self) -> bool {
        matches!(&self.email_verified, Some(Value::Bool(true)))
            || matches!(&self.email_verified, Some(Value::String(s)) if s == "true")
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audiences {
    One(String),
    Many(Vec<String>),
}

/// The ID token a provider sent, checked against what this sign-in expects. The error says what
/// was wrong, without the token.
pub fn verify(
    raw: &str,
    keys: &Value,
    issuer: &str,
    client_id: &str,
    nonce: Option<&SecretString>,
) -> Result<Claims, String> {
    let header = header(raw)?;
    let text = |name: &str| header.get(name).and_then(Value::as_str);
    if header.get("enc").is_some() {
        return Err("encrypted ID tokens are not supported".into());
    }
    if let Some(typ) = header.get("typ") {
        let typ = typ.as_str().unwrap_or_default().to_ascii_lowercase();
        // RFC 7515 §4.1.9: a media type, "application/" may be left out.
        let short = typ.strip_prefix("application/").unwrap_or(&typ);
        if !matches!(short, "jwt" | "jose") {
            return Err(format!("unexpected token type {typ:?}"));
        }
    }
    if header.get("cty").is_some() {
        return Err("nested tokens are not supported".into());
    }
    if header.get("crit").is_some() {
        return Err("critical header fields are not supported".into());
    }
    let alg_name = text("alg").ok_or("no algorithm")?;
    let alg =
        asymmetric(alg_name).ok_or_else(|| format!("algorithm {alg_name} is not accepted"))?;
    let key = signing_key(keys, text("kid"), alg_name)?;
    let key = DecodingKey::from_jwk(&key).map_err(|e| format!("unusable signing key: {e}"))?;

    let mut rules = Validation::new(alg);
    rules.set_issuer(&[issuer]);
    rules.set_audience(&[client_id]);
    rules.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    rules.validate_nbf = true;
    let claims = jsonwebtoken::decode::<Claims>(raw, &key, &rules)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => "bad signature".to_string(),
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "expired".to_string(),
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => "wrong issuer".to_string(),
            jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                "not issued to this app".to_string()
            }
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => "not valid yet".to_string(),
            _ => e.to_string(),
        })?
        .claims;

    // Another audience beside this app could replay the token here (§3.1.3.7 steps 3–5).
    let others = match &claims.aud {
        Audiences::One(a) => a != client_id,
        Audiences::Many(all) => all.iter().any(|a| a != client_id),
    };
    if others || claims.azp.as_deref().is_some_and(|azp| azp != client_id) {
        return Err("issued to other apps as well".into());
    }
    if let Some(sent) = nonce {
        let got = claims.nonce.as_deref().unwrap_or_default().as_bytes();
        let same: bool = subtle::ConstantTimeEq::ct_eq(got, sent.expose().as_bytes()).into();
        if !same {
            return Err("wrong nonce".into());
        }
    }
    Ok(claims)
}

fn header(raw: &str) -> Result<serde_json::Map<String, Value>, String> {
    match unverified_part(raw, 0) {
        Some(Value::Object(map)) => Ok(map),
        _ => Err("not a JWT".into()),
    }
}

/// Part `index` of a compact JWS (0 the header, 1 the claims) as JSON, unchecked: a JWS has
/// exactly three parts. For reading what a token says before (or instead of) verifying it.
pub(crate) fn unverified_part(jwt: &str, index: usize) -> Option<Value> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(parts.get(index)?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn asymmetric(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The one key of the set that may have signed with `alg`: its `kid` matches (when the token
/// names one), its type fits the algorithm, and its `use`, `key_ops` and `alg` (when present)
/// allow it. Keys the app cannot read are skipped, not fatal: sets also carry encryption keys.
fn signing_key(
    keys: &Value,
    kid: Option<&str>,
    alg: &str,
) -> Result<jsonwebtoken::jwk::Jwk, String> {
    let keys = keys
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the key set has no keys")?;
    let fits = |k: &&Value| {
        let field = |name: &str| k.get(name).and_then(Value::as_str);
        let shape = match (alg.get(..2), field("kty"), field("crv")) {
            (Some("RS" | "PS"), Some("RSA"), _) => true,
            (Some("ES"), Some("EC"), Some(crv)) => {
                crv == if alg == "ES256" { "P-256" } else { "P-384" }
            }
            (Some("Ed"), Some("OKP"), Some(crv)) => crv == "Ed25519",
            _ => false,
        };
        shape
            && kid.is_none_or(|kid| field("kid") == Some(kid))
            && field("use").is_none_or(|u| u == "sig")
            && field("alg").is_none_or(|a| a == alg)
            && k.get("key_ops")
                .and_then(Value::as_array)
                .is_none_or(|ops| ops.iter().any(|op| op.as_str() == Some("verify")))
    };
    let mut found = keys
        .iter()
        .filter(fits)
        .filter_map(|k| serde_json::from_value::<jsonwebtoken::jwk::Jwk>(k.clone()).ok());
    match (found.next(), found.next()) {
        (Some(key), None) => Ok(key),
        (None, _) => Err("no signing key fits the token".into()),
        (Some(_), Some(_)) => Err("more than one signing key fits the token".into()),
    }
}

/// A fresh nonce for an authorization request: 32 random bytes, base64url.
pub fn new_nonce() -> crate::error::Result<SecretString> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| crate::error::Error::internal("the system's random source failed"))?;
    Ok(SecretString::new(URL_SAFE_NO_PAD.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    const ISS: &str = "https://id.example";
    const APP: &str = "the-app";

    /// An RSA key made for these tests only (PKCS#1 DER): the RS256 path ID tokens mostly take.
    const TEST_RSA_KEY: &str = "MIIEowIBAAKCAQEA6LiWF5MmjVwFyLNDt/iMV4VGyMy/XMLdEoWoCLZo+XfXiCOuA4E0WiNJvp1UfO3dr4f0lvvQitWBK8aI/UXh5/83FB18UZ3Kp8y8kewAu+Rm2AliysHF1Rx1E2GnSl2wBmb5vkEfLhL+lGn+aKT2EIO5LS0ZMi6Y+i2GzQ+KoIFl9PHD8bbW7h31VfAf2mjkfL/uwjvVAkniEBf4bzxKW1k/5R2HFUB7IMY3dSmGqps5RaKon358/Tlfd0/KEoc9+ogl2je4fP6sMrGSGXZK/3Gva9lUrtuA33QmG+jiM2p3xEMvG7B/2WYVEwJ6XanYdf1KjtsJ42OHzm/JDbJPiwIDAQABAoIBAEgO86Z8EUle74mL/FFoG+hzo43EXBJ4YeR8zyFXfdyU339PcO+z34Zze7+STplaO7TAt5rSgOmkH1lzIXKu4zqnGyJW2Ooanifj7JWQSk/jcna9PUJDyqJoq9Wi/J45sSniU701w9ZL2lkREs3LGkfVyY4z8yPHKuX4F8/B2q5Em5ZonO9WL2YDF9tJc5ytlP+dy+j78hApc4r4fbW2WElVD9OFqR7PZUzabF9X3BgSyq2OyMC3K9Z8f6rPZLrwuKmWxmwTVJywY+NQ9cmrW2gkvqnn7gkdWl1Ude5jWPs3Wbp/vUtABiPW5Yt7LGzBJpZ0YzWMqdV0WLXibZm+gp0CgYEA+/mTZJ8LuUJS/WrsbsdgG3iwph6silTCTQNrqLY7UnBB9ThdNA++zie8znN79WZkmWHRQiOrbWRykMk01DJrLgqyqg4BPtNpolsznowWwOzpInStyn4C1WcrndkR6dKG3Q2qq3dOkGhUIW0WjppsIaaEkmP1Ap0UHe6NKCdwDe8CgYEA7HBGIJlrwgX2VF2sPGxrQnM8go2ZFKtnWnUyyLchM3exT/QN4fFfO+WeYj3E3N2c66Q+HeTkwoH+vHjXh7TVL+Tw9CUnubEwdd2cyEeJzOC04kndDZ/z1MvBh9Cttn/hlIvSxNbSVaECMK1ZblPiE729pGGGd61gZfRbxN7QdCUCgYEAt51l7+QKOgT/ztV010EIYtxu9Y7SsrcTI+XDNR0eW3OcTOK24HI826OPbW4wPWJRGohyYdz2Ve/loGZOzfazrchz64HrHGoYxwvosLdq+UlqlgYqgq2SyQm2ef8tk5MrXbhQz0RQhuDPtc/1qRMUiuz6HGckqrPmbe1hBYq/mBcCgYBNw6OdBzjk6LcbCnAis3oXsfUd71qA7NsialeYonq+BckAxgFm5c9v0Nbl8vDzv8Pj0PJJPMZsnvrcnFYvIS/Y/9CsTCgjr/6DVa9CRB0zkFiN8MNOvuQggh+V/vGTi73y8IYTDaDCXyFsRyeZ3OcHnSlpjlX+uLxy7Are1nXzLQKBgBHpbS+y36zQBmPbPI9rzjVOx0PGKHikp+hv1+PjfqqQ4K7Gu/d9hsP0UzPdDHLQev+mVInXvBfaOOuygyxqLYlSH8KNjgwz9qI9gSjvPdLrquRaBx9x49gSzSqk/m2w08zKofottqK0GWylPeB4CaefjYcbHBtkqAce0LttHJzK";

    struct Signer {
        key: EncodingKey,
        alg: Algorithm,
        jwk: Value,
    }

    fn ec_signer(kid: &str) -> Signer {
        let rng = ring::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        Signer {
            key: EncodingKey::from_ec_der(doc.as_ref()),
            alg: Algorithm::ES256,
            jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])}),
        }
    }

    fn rsa_signer(kid: &str) -> Signer {
        let der = base64::engine::general_purpose::STANDARD
            .decode(TEST_RSA_KEY)
            .unwrap();
        let pair = ring::signature::RsaKeyPair::from_der(&der).unwrap();
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        Signer {
            key: EncodingKey::from_rsa_der(&der),
            alg: Algorithm::RS256,
            jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS256",
                "n": b64(&public.n),
                "e": b64(&public.e)}),
        }
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn claims() -> Value {
        json!({"iss": ISS, "aud": APP, "sub": "user-1", "exp": now() + 300, "iat": now(),
            "nonce": "n-1", "name": "Ada", "email": "ada@example.org", "email_verified": true})
    }

    fn sign(s: &Signer, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(
            &Header {
                alg: s.alg,
                ..header
            },
            claims,
            &s.key,
        )
        .unwrap()
    }

    fn with_kid(kid: &str) -> Header {
        Header {
            kid: Some(kid.into()),
            ..Header::default()
        }
    }

    fn check(token: &str, keys: &[&Signer]) -> Result<Claims, String> {
        let set = json!({"keys": keys.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>()});
        verify(token, &set, ISS, APP, Some(&SecretString::new("n-1")))
    }

    #[test]
    fn a_token_signed_by_the_issuers_key_gives_its_claims() {
        for s in [rsa_signer("r1"), ec_signer("e1")] {
            let kid = s.jwk["kid"].as_str().unwrap().to_string();
            let got = check(&sign(&s, with_kid(&kid), &claims()), &[&s]).unwrap();
            assert_eq!(got.sub, "user-1");
            assert_eq!(got.name.as_deref(), Some("Ada"));
            assert_eq!(got.email.as_deref(), Some("ada@example.org"));
            assert!(got.email_verified());
        }
        // The device grant sends no nonce, so none is asked for.
        let s = ec_signer("e1");
        let mut c = claims();
        c.as_object_mut().unwrap().remove("nonce");
        let set = json!({"keys": [s.jwk.clone()]});
        assert!(verify(&sign(&s, with_kid("e1"), &c), &set, ISS, APP, None).is_ok());
    }

    #[test]
    fn a_jwt_type_is_accepted_in_any_of_its_spellings() {
        let s = ec_signer("e1");
        for typ in ["JWT", "jwt", "application/jwt", "JOSE", "application/jose"] {
            let header = Header {
                typ: Some(typ.into()),
                ..with_kid("e1")
            };
            assert!(check(&sign(&s, header, &claims()), &[&s]).is_ok(), "{typ}");
        }
    }

    #[test]
    fn every_broken_rule_is_refused() {
        let s = rsa_signer("r1");
        let other = rsa_signer("r2");
        let ec = ec_signer("e1");
        let edit = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
            let mut c = claims();
            f(c.as_object_mut().unwrap());
            sign(&s, with_kid("r1"), &c)
        };
        let token = sign(&s, with_kid("r1"), &claims());
        let (head, rest) = token.split_once('.').unwrap();
        let (body, sig) = rest.split_once('.').unwrap();
        let mut forged_sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        forged_sig[10] ^= 1;
        let tampered_body = {
            let mut c = claims();
            c["sub"] = json!("someone-else");
            URL_SAFE_NO_PAD.encode(c.to_string())
        };
        let header_of =
            |h: Value| format!("{}.{body}.{sig}", URL_SAFE_NO_PAD.encode(h.to_string()));
        let cases: Vec<(&str, String, Vec<&Signer>)> = vec![
            (
                "bad signature",
                format!("{head}.{body}.{}", URL_SAFE_NO_PAD.encode(&forged_sig)),
                vec![&s],
            ),
            (
                "bad signature",
                format!("{head}.{tampered_body}.{sig}"),
                vec![&s],
            ),
            ("no signing key fits", token.clone(), vec![&other]),
            ("no signing key fits", token.clone(), vec![&ec]),
            (
                "wrong issuer",
                edit(&|c| {
                    c.insert("iss".into(), json!("https://evil.example"));
                }),
                vec![&s],
            ),
            (
                "not issued to this app",
                edit(&|c| {
                    c.insert("aud".into(), json!("another-app"));
                }),
                vec![&s],
            ),
            (
                "issued to other apps",
                edit(&|c| {
                    c.insert("aud".into(), json!([APP, "another-app"]));
                }),
                vec![&s],
            ),
            (
                "issued to other apps",
                edit(&|c| {
                    c.insert("azp".into(), json!("another-app"));
                }),
                vec![&s],
            ),
            (
                "expired",
                edit(&|c| {
                    c.insert("exp".into(), json!(now() - 3600));
                }),
                vec![&s],
            ),
            (
                "not valid yet",
                edit(&|c| {
                    c.insert("nbf".into(), json!(now() + 3600));
                }),
                vec![&s],
            ),
            (
                "wrong nonce",
                edit(&|c| {
                    c.insert("nonce".into(), json!("n-2"));
                }),
                vec![&s],
            ),
            (
                "wrong nonce",
                edit(&|c| {
                    c.remove("nonce");
                }),
                vec![&s],
            ),
            (
                "`sub`",
                edit(&|c| {
                    c.remove("sub");
                }),
                vec![&s],
            ),
            (
                "algorithm none is not accepted",
                header_of(json!({"alg": "none"})),
                vec![&s],
            ),
            (
                "algorithm HS256 is not accepted",
                header_of(json!({"alg": "HS256", "kid": "r1"})),
                vec![&s],
            ),
            (
                "unexpected token type",
                header_of(json!({"alg": "RS256", "typ": "at+jwt"})),
                vec![&s],
            ),
            (
                "unexpected token type",
                header_of(json!({"alg": "RS256", "typ": "application/logout+jwt"})),
                vec![&s],
            ),
            (
                "critical header",
                header_of(json!({"alg": "RS256", "crit": ["exp"]})),
                vec![&s],
            ),
            (
                "nested",
                header_of(json!({"alg": "RS256", "cty": "JWT"})),
                vec![&s],
            ),
            (
                "encrypted",
                header_of(json!({"alg": "RSA-OAEP", "enc": "A256GCM"})),
                vec![&s],
            ),
            ("not a JWT", "garbage".into(), vec![&s]),
        ];
        for (want, token, keys) in cases {
            let err = check(&token, &keys).expect_err(want);
            assert!(err.contains(want), "{want}: got {err}");
        }
    }

    #[test]
    fn the_key_is_chosen_by_kid_type_use_and_alg() {
        let s = rsa_signer("r1");
        let token = sign(&s, with_kid("r1"), &claims());
        let mut enc = s.jwk.clone();
        enc["use"] = json!("enc");
        let mut wrong_alg = s.jwk.clone();
        wrong_alg["alg"] = json!("PS256");
        let mut verify_only = s.jwk.clone();
        verify_only["key_ops"] = json!(["verify"]);
        let unreadable = json!({"kty": "RSA", "kid": "r1", "n": 7});
        let set = |keys: Vec<Value>| json!({"keys": keys});
        let run = |keys| {
            verify(
                &token,
                &set(keys),
                ISS,
                APP,
                Some(&SecretString::new("n-1")),
            )
        };
        assert!(
            run(vec![enc.clone()]).is_err(),
            "an encryption key never verifies"
        );
        assert!(run(vec![wrong_alg]).is_err(), "a key for another algorithm");
        assert!(run(vec![verify_only, enc]).is_ok());
        assert!(
            run(vec![unreadable, s.jwk.clone()]).is_ok(),
            "an unreadable key is skipped"
        );
        // Without a kid, two keys that fit are ambiguous; one that fits is enough.
        let no_kid = sign(&s, Header::default(), &claims());
        let twice = set(vec![s.jwk.clone(), rsa_signer("r2").jwk]);
        let one = set(vec![s.jwk.clone(), ec_signer("e1").jwk]);
        let n = Some(SecretString::new("n-1"));
        assert!(verify(&no_kid, &twice, ISS, APP, n.as_ref())
            .unwrap_err()
            .contains("more than one"));
        assert!(verify(&no_kid, &one, ISS, APP, n.as_ref()).is_ok());
        assert!(verify(&token, &json!({}), ISS, APP, n.as_ref()).is_err());
    }

    #[test]
    fn nonces_are_fresh() {
        let (a, b) = (new_nonce().unwrap(), new_nonce().unwrap());
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
    }
}
