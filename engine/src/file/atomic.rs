//! Files written atomically: a temporary file beside the target, synced,
//! then renamed over it, so a crash never leaves half a model or MIDI file;
//! and finding the temporary files a crash did leave.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to a temporary file beside `path` (named by [`temp_path`]),
/// syncs it, then renames it over `path`: readers see the old file or the
/// new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The folder a file is written in (`.` for a bare name); `None` when the
/// path has no file name.
pub fn parent_dir(path: &Path) -> Option<PathBuf> {
    path.file_name()?;
    Some(match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    })
}

/// The temporary file this process writes `path` through before renaming
/// it: `.NAME.PID.tmp` beside it. The process id tells a later run whether
/// a leftover belongs to a writer that was killed ([`temp_files`]).
pub fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let (Some(dir), Some(name)) = (parent_dir(path), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has no file name",
        ));
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    Ok(dir.join(tmp_name))
}

/// Reads a [`temp_path`] file name back: the target's file name and the
/// writer's process id, or `None` for any other name.
pub fn parse_temp_name(file_name: &str) -> Option<(&str, u32)> {
    let (target, pid) = file_name
        .strip_prefix('.')?
        .strip_suffix(".tmp")?
        .rsplit_once('.')?;
    Some((target, pid.parse().ok()?))
}

/// The temporary files beside `path` that writers of it (in any process)
/// left, with each writer's process id.
pub fn temp_files(path: &Path) -> Vec<(PathBuf, u32)> {
    let (Some(dir), Some(name)) = (parent_dir(path), path.file_name()) else {
        return Vec::new();
    };
    let name = name.to_string_lossy();
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let (target, pid) = parse_temp_name(&file)?;
            (target == name).then(|| (e.path(), pid))
        })
        .collect()
}
