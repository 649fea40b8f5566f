//! Unpacking a downloaded `.tar.gz` or `.zip` safely.
//!
//! An archive from the internet is untrusted input: an entry named `../../.bashrc`, an
//! absolute path, or a symlink/hardlink (whose target a later entry could write through)
//! could place files outside the target folder. Such an archive is refused as a whole, with
//! the offending entry named; nothing is unpacked past the point of refusal, and the caller
//! unpacks into a staging folder it throws away on error.
//!
//! Only the entries under one top folder (`keep`, e.g. `aclImdb`) are written; the rest of the
//! archive (licence PDFs, readmes) is read past.
use anyhow::{bail, Context, Result};
use ft_assets::Unpack;
use std::io::{Read, Seek};
use std::path::{Component, Path, PathBuf};

/// What an unpack wrote and what it left out.
#[derive(Debug, Default)]
pub struct UnpackReport {
    /// Regular files written.
    pub files: u64,
    /// Entries dropped as corrupt images (archive paths), when asked to check them.
    pub skipped: Vec<String>,
}

/// Unpacks the `keep` folder of `archive` into `dest` (so that `dest/keep/...` appears).
pub fn unpack(
    archive: &Path,
    format: Unpack,
    keep: &str,
    dest: &Path,
    skip_corrupt_images: bool,
) -> Result<UnpackReport> {
    let file = std::fs::File::open(archive)
        .with_context(|| format!("cannot open {}", archive.display()))?;
    unpack_from(file, archive, format, keep, dest, skip_corrupt_images)
}

/// [`unpack`] on any seekable stream of archive bytes; `archive` names it in errors. Damaged
/// or hostile bytes give an error, never a panic (the fuzz test below holds it to that).
pub fn unpack_from<R: Read + Seek>(
    input: R,
    archive: &Path,
    format: Unpack,
    keep: &str,
    dest: &Path,
    skip_corrupt_images: bool,
) -> Result<UnpackReport> {
    let mut sink = Sink {
        archive,
        keep: Path::new(keep),
        dest,
        skip_corrupt_images,
        report: UnpackReport::default(),
    };
    match format {
        Unpack::TarGz => {
            let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(input));
            let entries = tar
                .entries()
                .with_context(|| format!("{} is not a tar.gz archive", archive.display()))?;
            for entry in entries {
                let mut entry =
                    entry.with_context(|| format!("{} is damaged", archive.display()))?;
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                let kind = match entry.header().entry_type() {
                    tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
                    tar::EntryType::Directory => Kind::Dir,
                    tar::EntryType::Symlink | tar::EntryType::Link => Kind::Link,
                    // Metadata records (pax / GNU headers) carry no file of their own.
                    tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
                    _ => Kind::Other,
                };
                sink.entry(&name, kind, &mut entry)?;
            }
        }
        Unpack::Zip => {
            let mut zip = zip::ZipArchive::new(input)
                .with_context(|| format!("{} is not a zip archive", archive.display()))?;
            for i in 0..zip.len() {
                let mut entry = zip
                    .by_index(i)
                    .with_context(|| format!("{} is damaged", archive.display()))?;
                let name = entry.name().to_string();
                let kind = if entry.is_symlink() {
                    Kind::Link
                } else if entry.is_dir() {
                    Kind::Dir
                } else {
                    Kind::File
                };
                sink.entry(&name, kind, &mut entry)?;
            }
        }
    }
    Ok(sink.report)
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Link,
    Other,
}

struct Sink<'a> {
    archive: &'a Path,
    keep: &'a Path,
    dest: &'a Path,
    skip_corrupt_images: bool,
    report: UnpackReport,
}

impl Sink<'_> {
    fn entry(&mut self, name: &str, kind: Kind, data: &mut dyn Read) -> Result<()> {
        let Some(rel) = safe_relative(name) else {
            bail!(
                "refusing to unpack {}: entry `{name}` would land outside the target folder (absolute path or `..`)",
                self.archive.display()
            );
        };
        if kind == Kind::Link {
            bail!(
                "refusing to unpack {}: entry `{name}` is a link, which could point outside the target folder",
                self.archive.display()
            );
        }
        if !rel.starts_with(self.keep) || kind == Kind::Other {
            return Ok(());
        }
        let target = self.dest.join(&rel);
        if kind == Kind::Dir {
            return std::fs::create_dir_all(&target)
                .with_context(|| format!("cannot create {}", target.display()));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let write_err = || format!("cannot unpack `{name}` to {}", target.display());
        if self.skip_corrupt_images {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).with_context(write_err)?;
            if !looks_like_jpeg(&bytes) {
                self.report.skipped.push(name.to_string());
                return Ok(());
            }
            std::fs::write(&target, &bytes).with_context(write_err)?;
        } else {
            let mut out = std::fs::File::create(&target).with_context(write_err)?;
            std::io::copy(data, &mut out).with_context(write_err)?;
        }
        self.report.files += 1;
        Ok(())
    }
}

/// The entry's path as plain relative components, or `None` if it is absolute, has a drive or
/// root, or climbs with `..`. Backslashes count as separators too (zips made on Windows).
fn safe_relative(name: &str) -> Option<PathBuf> {
    let unified = name.replace('\\', "/");
    if unified.starts_with('/') {
        return None;
    }
    let mut out = PathBuf::new();
    for c in Path::new(&unified).components() {
        match c {
            Component::Normal(part) => {
                // `C:` survives `components()` as a normal part on Unix.
                if part.to_string_lossy().contains(':') {
                    return None;
                }
                out.push(part)
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Empty files and files without the JPEG start-of-image marker: the cats-vs-dogs zip's known
/// broken images. A full decode is not needed to catch them and would be slow.
fn looks_like_jpeg(bytes: &[u8]) -> bool {
    bytes.len() > 3 && bytes[..3] == [0xFF, 0xD8, 0xFF]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'];

    /// A tar.gz built by hand, so that names the tar crate's builder would refuse (`..`,
    /// absolute) can be written straight into the header bytes.
    fn tar_gz(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (name, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn tar_gz_keeps_only_the_top_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = write(
            tmp.path(),
            "a.tar.gz",
            &tar_gz(&[
                ("top/", tar::EntryType::Directory, b""),
                ("top/train/pos/1.txt", tar::EntryType::Regular, b"good"),
                ("README", tar::EntryType::Regular, b"readme"),
            ]),
        );
        let dest = tmp.path().join("out");
        let report = unpack(&archive, Unpack::TarGz, "top", &dest, false).unwrap();
        assert_eq!(report.files, 1);
        assert_eq!(
            std::fs::read(dest.join("top/train/pos/1.txt")).unwrap(),
            b"good"
        );
        assert!(!dest.join("README").exists());
    }

    #[test]
    fn tar_gz_with_parent_dir_entry_is_refused_and_writes_nothing_outside() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = write(
            tmp.path(),
            "evil.tar.gz",
            &tar_gz(&[("top/../../evil.txt", tar::EntryType::Regular, b"pwned")]),
        );
        let dest = tmp.path().join("a/b/out");
        let err = unpack(&archive, Unpack::TarGz, "top", &dest, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`top/../../evil.txt`") && err.contains("outside the target folder"),
            "{err}"
        );
        assert!(!tmp.path().join("a/evil.txt").exists());
        assert!(!tmp.path().join("evil.txt").exists());
    }

    #[test]
    fn tar_gz_with_absolute_path_or_symlink_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let abs = write(
            tmp.path(),
            "abs.tar.gz",
            &tar_gz(&[("/tmp/ft-evil.txt", tar::EntryType::Regular, b"x")]),
        );
        let err = unpack(&abs, Unpack::TarGz, "top", &tmp.path().join("o1"), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`/tmp/ft-evil.txt`"), "{err}");

        let link = write(
            tmp.path(),
            "link.tar.gz",
            &tar_gz(&[("top/passwd", tar::EntryType::Symlink, b"")]),
        );
        let err = unpack(&link, Unpack::TarGz, "top", &tmp.path().join("o2"), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`top/passwd` is a link"), "{err}");
        assert!(!tmp.path().join("o2/top/passwd").exists());
    }

    fn zip_bytes(entries: &[(&str, &[u8])], symlink: Option<&str>) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for (name, data) in entries {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(data).unwrap();
        }
        if let Some(name) = symlink {
            zip.add_symlink(name, "/etc/passwd", opts).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn zip_skips_and_counts_corrupt_images() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = write(
            tmp.path(),
            "pets.zip",
            &zip_bytes(
                &[
                    ("PetImages/Cat/1.jpg", JPEG),
                    ("PetImages/Cat/666.jpg", b""),
                    ("PetImages/Dog/2.jpg", JPEG),
                    ("PetImages/Dog/11702.jpg", b"BM not a jpeg"),
                    ("CDLA-Permissive-2.0.pdf", b"%PDF"),
                ],
                None,
            ),
        );
        let dest = tmp.path().join("out");
        let report = unpack(&archive, Unpack::Zip, "PetImages", &dest, true).unwrap();
        assert_eq!(report.files, 2);
        assert_eq!(
            report.skipped,
            vec!["PetImages/Cat/666.jpg", "PetImages/Dog/11702.jpg"]
        );
        assert!(dest.join("PetImages/Dog/2.jpg").is_file());
        assert!(!dest.join("PetImages/Cat/666.jpg").exists());
    }

    #[test]
    fn zip_with_escaping_entry_or_symlink_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let evil = write(
            tmp.path(),
            "evil.zip",
            &zip_bytes(&[("PetImages/../../evil.jpg", JPEG)], None),
        );
        let err = unpack(
            &evil,
            Unpack::Zip,
            "PetImages",
            &tmp.path().join("o/x"),
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`PetImages/../../evil.jpg`"), "{err}");
        assert!(!tmp.path().join("evil.jpg").exists());

        let link = write(
            tmp.path(),
            "link.zip",
            &zip_bytes(&[], Some("PetImages/Cat/1.jpg")),
        );
        let err = unpack(
            &link,
            Unpack::Zip,
            "PetImages",
            &tmp.path().join("o2"),
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("is a link"), "{err}");
    }

    #[test]
    fn safe_relative_rejects_every_escape() {
        for bad in [
            "../x",
            "a/../../x",
            "/abs",
            "\\\\server\\x",
            "..\\x",
            "C:/x",
            "",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
        assert_eq!(safe_relative("./a/b"), Some(PathBuf::from("a/b")));
    }

    /// Seeded mutations of a valid tar.gz and zip (bit flips, truncation, inserted and
    /// deleted bytes, huge numbers written over length fields): every one must unpack or fail
    /// with an error, never panic. `FT_FUZZ_INPUTS` sets the count per format.
    #[test]
    fn fuzzed_archives_never_panic() {
        let n: u64 = std::env::var("FT_FUZZ_INPUTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600);
        let seeds = [
            (
                Unpack::TarGz,
                tar_gz(&[
                    ("top/a.txt", tar::EntryType::Regular, b"hello"),
                    ("top/sub/", tar::EntryType::Directory, b""),
                    ("other.txt", tar::EntryType::Regular, b"x"),
                ]),
            ),
            (
                Unpack::Zip,
                zip_bytes(&[("top/a.jpg", JPEG), ("top/b.txt", b"b")], None),
            ),
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (format, seed) in &seeds {
            for i in 0..n {
                let mut b = seed.clone();
                for _ in 0..1 + next() % 4 {
                    let len = b.len().max(1) as u64;
                    let at = (next() % len) as usize;
                    match next() % 5 {
                        0 if !b.is_empty() => {
                            let i = at.min(b.len() - 1);
                            b[i] ^= 1 << (next() % 8);
                        }
                        1 => b.truncate(at),
                        2 => b.insert(at.min(b.len()), next() as u8),
                        3 if !b.is_empty() => {
                            b.remove(at.min(b.len() - 1));
                        }
                        _ => {
                            let big = [0xFFu8, 0xFF, 0xFF, 0x7F];
                            for (k, v) in big.iter().enumerate() {
                                if let Some(x) = b.get_mut(at + k) {
                                    *x = *v;
                                }
                            }
                        }
                    }
                }
                let dir = tempfile::tempdir().unwrap();
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = unpack_from(
                        std::io::Cursor::new(&b),
                        Path::new("fuzz.archive"),
                        *format,
                        "top",
                        dir.path(),
                        i.is_multiple_of(2),
                    );
                }));
                assert!(run.is_ok(), "{format:?} input {i} panicked: {b:02x?}");
            }
        }
    }
}
