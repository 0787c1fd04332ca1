//! Reading certificate and key files: regular files only, up to [`MAX_FILE_SIZE`].
//!
//! A path may name anything: `/dev/zero` never ends, a FIFO blocks its reader until a writer
//! comes, `/proc` files report a size of 0 and yield more. Every file sslsocket reads for a
//! configuration (`SslCertificate::from_path`, `SslKey::private_key_from_file`, the
//! command-line tool's `--cafile`, `--capath`, `--cert`, `--key`, `--chain`) goes through
//! [`read_regular_file`]: the file is checked before it is opened (a FIFO is never opened),
//! checked again once open, and read through a bound.

use std::io::Read;
use std::path::Path;

use crate::error::CertificateError;

/// The largest certificate or key file read: 16 MiB. The Mozilla trust store in one PEM file
/// is about 220 KiB.
pub const MAX_FILE_SIZE: u64 = 16 << 20;

/// The bytes of the regular file at `path` (symbolic links followed), at most
/// [`MAX_FILE_SIZE`].
///
/// # Errors
/// [`CertificateError::NotARegularFile`] for a directory, FIFO, socket or device (checked
/// before opening: nothing blocks); [`CertificateError::FileTooLarge`] beyond
/// [`MAX_FILE_SIZE`], whatever size the file reports; [`CertificateError::Io`] when it cannot
/// be read.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>, CertificateError> {
    let shown = || path.display().to_string();
    let io = |e: std::io::Error| CertificateError::Io { path: shown(), message: e.to_string() };
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(CertificateError::NotARegularFile { path: shown() });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    // The path may have been replaced between the two calls: check what was opened.
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(CertificateError::NotARegularFile { path: shown() });
    }
    let too_large = || CertificateError::FileTooLarge { path: shown(), limit: MAX_FILE_SIZE };
    if metadata.len() > MAX_FILE_SIZE {
        return Err(too_large());
    }
    let mut data = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // One byte past the limit tells a file at the limit from a longer one.
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large());
    }
    Ok(data)
}
