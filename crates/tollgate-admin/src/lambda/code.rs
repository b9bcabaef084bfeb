//! A function's code on disk.
//!
//! An uploaded zip is kept as `{data_dir}/lambda/code/{name}/{id}.zip` and unpacked beside it
//! into `{id}/`, a fresh id per upload: running instances never see their files change, and a
//! published version keeps pointing at the directory of the upload it was published from. A
//! directory is removed when no version uses it any more.
//!
//! LocalStack's hot-reload convention, `Code: {S3Bucket: "hot-reload", S3Key: "/abs/dir"}`, runs
//! the code from that directory as it is (nothing is copied).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tollgate_model::lambda::CodeInfo;

use super::error::{LambdaError, LambdaResult};

/// Bucket names that mean "run the code from the directory in `S3Key`".
const HOT_RELOAD_BUCKETS: &[&str] = &["hot-reload", "__local__"];

/// Largest unzipped size (Lambda: 250 MB).
const MAX_UNZIPPED_BYTES: u64 = 262_144_000;

/// Largest zip uploaded directly (Lambda: 50 MB).
const MAX_ZIP_BYTES: usize = 52_428_800;

/// Where code comes from: `FunctionCode` of `CreateFunction`, or the same members at the top
/// level of `UpdateFunctionCode`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeSource {
    /// Base64 of the zip, as botocore sends a blob inside JSON.
    pub zip_file: Option<String>,
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Option<String>,
    #[serde(rename = "S3Key")]
    pub s3_key: Option<String>,
    pub image_uri: Option<String>,
}

/// The directory of a function's uploads, relative to the data directory.
pub fn function_code_root(name: &str) -> PathBuf {
    Path::new("lambda").join("code").join(name)
}

/// The absolute directory of some code.
pub fn code_dir(data_dir: &Path, code: &CodeInfo) -> PathBuf {
    // `join` with an absolute path (hot reload) yields that path.
    data_dir.join(&code.dir)
}

/// Turns a code source into code on disk.
pub async fn prepare(data_dir: &Path, name: &str, source: CodeSource) -> LambdaResult<CodeInfo> {
    if source.image_uri.is_some() {
        return Err(LambdaError::invalid(
            "Container images are not supported by Tollgate: use a .zip file archive",
        ));
    }
    if let Some(bucket) = &source.s3_bucket {
        if HOT_RELOAD_BUCKETS.contains(&bucket.as_str()) {
            return hot_reload(source.s3_key.as_deref().unwrap_or(""));
        }
        return Err(LambdaError::invalid(format!(
            "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket {bucket} does not exist (Tollgate takes code as ZipFile, or a directory with S3Bucket \"hot-reload\")"
        )));
    }
    let Some(zip_base64) = source.zip_file else {
        return Err(LambdaError::invalid(
            "Please provide a source for function code.",
        ));
    };
    let zip = BASE64
        .decode(zip_base64.trim())
        .map_err(|_| LambdaError::invalid("Could not decode ZipFile: it must be base64"))?;
    if zip.len() > MAX_ZIP_BYTES {
        return Err(LambdaError::RequestTooLarge(format!(
            "Zipped size must be smaller than {MAX_ZIP_BYTES} bytes"
        )));
    }
    let sha256 = BASE64.encode(Sha256::digest(&zip));
    let size = zip.len() as u64;
    let relative = function_code_root(name).join(tollgate_model::ids::random_id(12));
    let target = data_dir.join(&relative);
    tokio::task::spawn_blocking(move || unpack(&zip, &target))
        .await
        .map_err(|e| LambdaError::Service(format!("unpacking failed: {e}")))??;
    Ok(CodeInfo {
        dir: relative.to_string_lossy().into_owned(),
        hot_reload: false,
        sha256,
        size,
    })
}

fn hot_reload(dir: &str) -> LambdaResult<CodeInfo> {
    let path = Path::new(dir);
    if !path.is_absolute() || !path.is_dir() {
        return Err(LambdaError::invalid(format!(
            "Hot-reload code must be an existing absolute directory (S3Key), not '{dir}'"
        )));
    }
    Ok(CodeInfo {
        dir: dir.to_string(),
        hot_reload: true,
        sha256: BASE64.encode(Sha256::digest(dir.as_bytes())),
        size: 0,
    })
}

/// Keeps the zip as `{target}.zip` (for `GetFunction`'s download link) and unpacks it into
/// `target`.
fn unpack(zip: &[u8], target: &Path) -> LambdaResult<()> {
    let unreadable = || {
        LambdaError::invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|_| unreadable())?;
    let mut unzipped: u64 = 0;
    for i in 0..archive.len() {
        unzipped += archive.by_index_raw(i).map_err(|_| unreadable())?.size();
    }
    if unzipped > MAX_UNZIPPED_BYTES {
        return Err(LambdaError::invalid(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )));
    }
    let io = |e: std::io::Error| LambdaError::Service(format!("cannot store function code: {e}"));
    std::fs::create_dir_all(target).map_err(io)?;
    let result = archive.extract(target).map_err(|_| unreadable());
    if result.is_err() {
        let _ = std::fs::remove_dir_all(target);
        return result;
    }
    std::fs::write(target.with_extension("zip"), zip).map_err(io)?;
    Ok(())
}

/// Removes the directory (and kept zip) of `code` unless it is hot-reload code or one of
/// `in_use` still uses it.
pub async fn discard_unused<'a>(
    data_dir: &Path,
    code: &CodeInfo,
    mut in_use: impl Iterator<Item = &'a CodeInfo>,
) {
    if code.hot_reload || in_use.any(|c| c.dir == code.dir) {
        return;
    }
    let dir = code_dir(data_dir, code);
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove old function code");
    }
    let _ = tokio::fs::remove_file(dir.with_extension("zip")).await;
}

/// Removes every upload of a function.
pub async fn discard_function(data_dir: &Path, name: &str) {
    let _ = tokio::fs::remove_dir_all(data_dir.join(function_code_root(name))).await;
}

/// The path after `/_tollgate/lambda/code/` at which the zip of `code` is served, if it has one.
pub fn download_path(code: &CodeInfo) -> Option<String> {
    if code.hot_reload {
        return None;
    }
    let dir = Path::new(&code.dir);
    let id = dir.file_name()?.to_str()?;
    let name = dir.parent()?.file_name()?.to_str()?;
    Some(format!("{name}/{id}.zip"))
}

/// The file for a download path, if the path is one [`download_path`] makes.
pub fn download_file(data_dir: &Path, name: &str, file: &str) -> Option<PathBuf> {
    let id = file.strip_suffix(".zip")?;
    let safe = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (safe(name) && safe(id)).then(|| data_dir.join(function_code_root(name)).join(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_paths_round_trip() {
        let code = CodeInfo {
            dir: "lambda/code/fn/abc123".into(),
            hot_reload: false,
            sha256: String::new(),
            size: 0,
        };
        let path = download_path(&code).unwrap();
        assert_eq!(path, "fn/abc123.zip");
        let file = download_file(Path::new("/d"), "fn", "abc123.zip").unwrap();
        assert_eq!(file, Path::new("/d/lambda/code/fn/abc123.zip"));
        assert!(download_file(Path::new("/d"), "..", "x.zip").is_none());
        assert!(download_file(Path::new("/d"), "fn", "../x.zip").is_none());
    }

    #[test]
    fn broken_zips_are_invalid_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(b"not a zip", &dir.path().join("x")).unwrap_err();
        assert!(matches!(err, LambdaError::InvalidParameter(_)));
    }
}
