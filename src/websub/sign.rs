//! `X-Hub-Signature`: an HMAC of the body with the subscriber's secret, named
//! by its hash (`sha256=…`). The hub signs with SHA-256; a subscriber accepts
//! what the spec allows (sha1, sha256, sha384, sha512).

use hmac::{Hmac, KeyInit, Mac};

/// The header value for `body` signed with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", crate::hash::hex(&mac.finalize().into_bytes()))
}

/// Whether `header` is a valid signature of `body` with `secret`, in constant
/// time. An unknown or malformed method is not.
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some((method, sent)) = header.trim().split_once('=') else {
        return false;
    };
    let Some(sent) = unhex(sent) else {
        return false;
    };
    fn check<M: Mac + KeyInit>(secret: &str, body: &[u8], sent: &[u8]) -> bool {
        let mut mac =
            <M as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        mac.update(body);
        mac.verify_slice(sent).is_ok()
    }
    match method.to_ascii_lowercase().as_str() {
        "sha1" => check::<Hmac<sha1::Sha1>>(secret, body, &sent),
        "sha256" => check::<Hmac<sha2::Sha256>>(secret, body, &sent),
        "sha384" => check::<Hmac<sha2::Sha384>>(secret, body, &sent),
        "sha512" => check::<Hmac<sha2::Sha512>>(secret, body, &sent),
        _ => false,
    }
}

/// Whether `header` names a signature method we check, with a digest of its
/// length: what a delivery must carry before its body is read.
pub fn well_formed(header: &str) -> bool {
    let Some((method, sent)) = header.trim().split_once('=') else {
        return false;
    };
    let hex_len = match method.to_ascii_lowercase().as_str() {
        "sha1" => 40,
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    sent.len() == hex_len && sent.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The part of a subscription's callback URL that proves a caller got it
/// from us: a MAC of our secret, so it needs no storing, and it changes with
/// each new subscription (each has its own secret).
pub fn callback_token(secret: &str) -> String {
    let full = signature(secret, b"newswire websub callback");
    full.trim_start_matches("sha256=")[..32].to_owned()
}

/// Equal strings, compared in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_sha256_and_verifies_every_allowed_method() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify("Jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify("jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify("Jefe", b"what do ya want for nothing!", &sig));
        assert!(verify(
            "Jefe",
            b"what do ya want for nothing?",
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        ));
        assert!(verify(
            "Jefe",
            b"what do ya want for nothing?",
            "sha512=164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        ));
        for bad in ["", "sha256", "md5=00", "sha256=zz", "sha256=abc"] {
            assert!(!verify("Jefe", b"x", bad), "{bad}");
        }
    }
}
