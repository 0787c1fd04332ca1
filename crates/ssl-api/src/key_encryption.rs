//! Passphrase-protected private keys: encrypted PKCS#8 (PBES2, through RustCrypto's `pkcs8` /
//! `pkcs5`) and the legacy OpenSSL encrypted PEM (`Proc-Type: 4,ENCRYPTED`).
//!
//! The legacy format's key derivation, OpenSSL's `EVP_BytesToKey` with MD5 and one iteration,
//! is written here by hand: no maintained crate provides it (it is a few lines over RustCrypto's
//! `md-5`); the ciphers are RustCrypto's `aes`, `des` and `cbc`.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use md5::{Digest, Md5};
use pkcs8::der::Decode;
use pkcs8::rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::error::CertificateError;
use crate::key::{MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_COST, MAX_SCRYPT_MEMORY, MAX_SCRYPT_WORK};

/// PBKDF2 iterations of the keys [`encrypt_pkcs8`] writes. OpenSSL 3 writes 2048; more costs
/// a brute-force attack more and a legitimate load a few milliseconds.
pub(crate) const PBKDF2_ITERATIONS: u32 = 100_000;

/// Decrypts an `EncryptedPrivateKeyInfo` into `PrivateKeyInfo` DER.
///
/// # Errors
/// [`CertificateError::BadPassphrase`] when decryption fails or yields no DER structure;
/// [`CertificateError::Key`] for bytes that are not an encrypted key or an unsupported scheme;
/// [`CertificateError::KdfLimit`] for key-derivation parameters beyond the documented limits
/// (checked before any derivation work).
pub(crate) fn decrypt_pkcs8(
    der: &[u8],
    passphrase: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CertificateError> {
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|e| CertificateError::Key(format!("encrypted pkcs8: {e}")))?;
    check_kdf_limits(&info.encryption_algorithm)?;
    match info.decrypt(passphrase) {
        Ok(doc) => Ok(Zeroizing::new(doc.as_bytes().to_vec())),
        // pkcs5 0.7 reports bad padding after decryption as `EncryptFailed`.
        Err(pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
        ))
        | Err(pkcs8::Error::Asn1(_)) => Err(CertificateError::BadPassphrase),
        Err(e) => Err(CertificateError::Key(format!("encrypted pkcs8: {e}"))),
    }
}

/// Refuses key-derivation parameters whose cost is beyond the limits of [`crate::key`]: the
/// derivation would otherwise run for minutes (PBKDF2) or allocate without bound (scrypt's
/// `128 · r · N` bytes; N = 2^30 asks for a terabyte and aborts the process).
fn check_kdf_limits(scheme: &pkcs8::pkcs5::EncryptionScheme<'_>) -> Result<(), CertificateError> {
    use pkcs8::pkcs5::pbes2::Kdf;
    let pkcs8::pkcs5::EncryptionScheme::Pbes2(params) = scheme else {
        // PBES1 is refused by the decryption itself, before any derivation.
        return Ok(());
    };
    let limit = |kdf: &'static str, message: String| CertificateError::KdfLimit { kdf, message };
    match &params.kdf {
        Kdf::Pbkdf2(pbkdf2) if pbkdf2.iteration_count > MAX_PBKDF2_ITERATIONS => Err(limit(
            "pbkdf2",
            format!("{} iterations, more than {MAX_PBKDF2_ITERATIONS}", pbkdf2.iteration_count),
        )),
        Kdf::Pbkdf2(_) => Ok(()),
        Kdf::Scrypt(scrypt) => {
            let n = scrypt.cost_parameter;
            let r = u64::from(scrypt.block_size);
            let p = u64::from(scrypt.parallelization);
            if n > MAX_SCRYPT_COST {
                return Err(limit("scrypt", format!("N = {n}, more than {MAX_SCRYPT_COST}")));
            }
            // N ≤ 2^20 and r, p < 2^16: none of these products overflows a u64.
            let memory = 128 * r * (n + p);
            if memory > MAX_SCRYPT_MEMORY {
                return Err(limit(
                    "scrypt",
                    format!("N = {n}, r = {r}, p = {p} need {memory} bytes, more than {MAX_SCRYPT_MEMORY}"),
                ));
            }
            let work = n * r * p;
            if work > MAX_SCRYPT_WORK {
                return Err(limit(
                    "scrypt",
                    format!("N·r·p = {work}, more than {MAX_SCRYPT_WORK}"),
                ));
            }
            Ok(())
        }
        // `Kdf` has no other variant today; a new one is refused by the decryption.
        _ => Ok(()),
    }
}

/// Encrypts `PrivateKeyInfo` DER as an `EncryptedPrivateKeyInfo` (PBES2, PBKDF2-HMAC-SHA256,
/// AES-256-CBC) with a random salt and IV from the operating system.
///
/// # Errors
/// [`CertificateError::Key`] when the key does not re-encode or randomness is unavailable.
pub(crate) fn encrypt_pkcs8(
    pkcs8_der: &[u8],
    passphrase: &[u8],
) -> Result<Vec<u8>, CertificateError> {
    let bad = |e: &dyn std::fmt::Display| CertificateError::Key(format!("encrypting: {e}"));
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    OsRng.try_fill_bytes(&mut salt).map_err(|e| bad(&e))?;
    OsRng.try_fill_bytes(&mut iv).map_err(|e| bad(&e))?;
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
            .map_err(|e| bad(&e))?;
    let info = pkcs8::PrivateKeyInfo::from_der(pkcs8_der).map_err(|e| bad(&e))?;
    let doc = info.encrypt_with_params(params, passphrase).map_err(|e| bad(&e))?;
    Ok(doc.as_bytes().to_vec())
}

/// Decrypts the body of a legacy OpenSSL encrypted PEM block whose `DEK-Info` header is
/// `dek_info` (`AES-128-CBC,<hex IV>`).
///
/// # Errors
/// [`CertificateError::Pem`] for a malformed header; [`CertificateError::Key`] for a cipher
/// other than AES-128/192/256-CBC, DES-EDE3-CBC and DES-CBC;
/// [`CertificateError::BadPassphrase`] when the padding is wrong after decryption.
pub(crate) fn decrypt_legacy_pem(
    dek_info: &str,
    body: &[u8],
    passphrase: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CertificateError> {
    let (cipher, iv_hex) = dek_info
        .split_once(',')
        .ok_or_else(|| CertificateError::Pem(format!("malformed DEK-Info {dek_info:?}")))?;
    let iv = from_hex(iv_hex.trim())
        .ok_or_else(|| CertificateError::Pem(format!("malformed DEK-Info IV {iv_hex:?}")))?;
    let cipher = cipher.trim().to_ascii_uppercase();
    let (key_len, iv_len) = match cipher.as_str() {
        "AES-128-CBC" => (16, 16),
        "AES-192-CBC" => (24, 16),
        "AES-256-CBC" => (32, 16),
        "DES-EDE3-CBC" => (24, 8),
        "DES-CBC" => (8, 8),
        other => return Err(CertificateError::Key(format!("unsupported pem encryption {other}"))),
    };
    if iv.len() != iv_len {
        return Err(CertificateError::Pem(format!("DEK-Info IV of {} bytes", iv.len())));
    }
    // The salt is the IV's first 8 bytes (PEM_do_header).
    let key = evp_bytes_to_key_md5(passphrase, &iv[..8], key_len);
    let mut buf = Zeroizing::new(body.to_vec());
    let plain_len = match cipher.as_str() {
        "AES-128-CBC" => cbc_decrypt::<aes::Aes128>(&key, &iv, &mut buf),
        "AES-192-CBC" => cbc_decrypt::<aes::Aes192>(&key, &iv, &mut buf),
        "AES-256-CBC" => cbc_decrypt::<aes::Aes256>(&key, &iv, &mut buf),
        "DES-EDE3-CBC" => cbc_decrypt::<des::TdesEde3>(&key, &iv, &mut buf),
        _ => cbc_decrypt::<des::Des>(&key, &iv, &mut buf),
    }?;
    buf.truncate(plain_len);
    Ok(buf)
}

/// OpenSSL's `EVP_BytesToKey(cipher, EVP_md5(), salt, pass, 1, key, iv)`, the key part:
/// `D_1 = MD5(pass || salt)`, `D_i = MD5(D_{i-1} || pass || salt)`, key = `D_1 || D_2 || …`
/// cut to `len` bytes.
fn evp_bytes_to_key_md5(passphrase: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut previous: Option<Zeroizing<[u8; 16]>> = None;
    while key.len() < len {
        let mut md5 = Md5::new();
        if let Some(previous) = &previous {
            md5.update(previous.as_slice());
        }
        md5.update(passphrase);
        md5.update(salt);
        let block = Zeroizing::new(<[u8; 16]>::from(md5.finalize()));
        key.extend_from_slice(block.as_slice());
        previous = Some(block);
    }
    key.truncate(len);
    key
}

/// CBC-decrypts `buf` in place with PKCS#7 padding; the plaintext length.
fn cbc_decrypt<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<usize, CertificateError>
where
    C: cbc::cipher::BlockDecryptMut + cbc::cipher::BlockCipher + cbc::cipher::KeyInit,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| CertificateError::Key("invalid key or iv length".into()))?;
    decryptor
        .decrypt_padded_mut::<Pkcs7>(buf)
        .map(<[u8]>::len)
        .map_err(|_| CertificateError::BadPassphrase)
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bytes_to_key_matches_openssl() {
        // `openssl enc -aes-128-cbc -k secret -S 0102030405060708 -md md5 -P -nosalt` prints
        // key=... for salt 0102030405060708: computed independently with openssl(1).
        let key = evp_bytes_to_key_md5(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 16);
        let md5 = |data: &[u8]| <[u8; 16]>::from(Md5::digest(data));
        assert_eq!(key.as_slice(), md5(b"secret\x01\x02\x03\x04\x05\x06\x07\x08"));
        let long = evp_bytes_to_key_md5(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 24);
        let d1 = md5(b"secret\x01\x02\x03\x04\x05\x06\x07\x08");
        let d2 = md5(&[&d1[..], b"secret\x01\x02\x03\x04\x05\x06\x07\x08"].concat());
        assert_eq!(&long[..16], &d1);
        assert_eq!(&long[16..], &d2[..8]);
    }

    #[test]
    fn malformed_dek_info_is_a_pem_error() {
        for bad in ["AES-128-CBC", "AES-128-CBC,zz", "AES-128-CBC,0011"] {
            assert!(matches!(
                decrypt_legacy_pem(bad, &[0; 16], b"x"),
                Err(CertificateError::Pem(_))
            ));
        }
        assert!(matches!(
            decrypt_legacy_pem("RC2-CBC,0011223344556677", &[0; 16], b"x"),
            Err(CertificateError::Key(_))
        ));
    }
}
