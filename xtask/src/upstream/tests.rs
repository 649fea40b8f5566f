//! Upstream fetching against the in-process server of `test_server`: never the internet.
use super::*;
use crate::http::RetryPolicy;
use crate::test_server::{Behaviour, TestServer};
use ft_assets::Manifest;
use std::time::Duration;

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Deterministic, non-repeating-looking bytes, so a wrongly spliced resume changes the hash.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn client() -> Http {
    let retry = RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    Http::new(retry, false, false)
}

fn endpoints(server: &TestServer) -> Endpoints {
    Endpoints {
        hub: server.base.clone(),
        mirror: None,
        hub_token: None,
    }
}

/// A one-asset manifest whose `url` source is the test server. `file` is the JSON of the file.
fn cache_with(tmp: &Path, base: &str, file: &str) -> (Cache, AssetSpec) {
    let json = format!(
        r#"{{"schema": 1, "assets": [{{"name": "up", "kind": "dataset", "license": "MIT",
        "description": "d", "source": {{"url": {{"base": "{base}/files"}}}}, "files": [{file}]}}]}}"#
    );
    let cache = Cache::new(tmp.to_path_buf(), Manifest::parse(&json, "test").unwrap());
    let spec = cache.manifest().get("up").unwrap().clone();
    (cache, spec)
}

fn plain_file(sha256: Option<&str>) -> String {
    match sha256 {
        Some(s) => format!(r#"{{"path": "data.bin", "from": "data.bin", "sha256": "{s}"}}"#),
        None => r#"{"path": "data.bin", "from": "data.bin"}"#.to_string(),
    }
}

#[test]
fn clean_download_is_verified_installed_and_not_repeated() {
    let server = TestServer::start();
    let body = payload(50_000);
    server.route("/files/data.bin", &body, Behaviour::Serve);
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(Some(&sha(&body))));

    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    let installed = tmp.path().join("datasets/up/data.bin");
    assert_eq!(std::fs::read(&installed).unwrap(), body);
    assert!(!tmp.path().join(".partial/up").exists());

    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    assert_eq!(
        server.hits("/files/data.bin"),
        1,
        "a verified file is not fetched again"
    );
}

#[test]
fn wrong_checksum_keeps_nothing_and_names_both_hashes() {
    let server = TestServer::start();
    let body = payload(1000);
    server.route("/files/data.bin", &body, Behaviour::Serve);
    let tmp = tempfile::tempdir().unwrap();
    let bogus = "0".repeat(64);
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(Some(&bogus)));

    let err = fetch_upstream(&cache, &spec, &client(), &endpoints(&server))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&bogus) && err.contains(&sha(&body)), "{err}");
    assert!(
        err.contains("up/data.bin") && err.contains("not kept"),
        "{err}"
    );
    assert!(!tmp.path().join("datasets/up/data.bin").exists());
    assert!(!tmp.path().join(".partial/up/data.bin.part").exists());
}

#[test]
fn connection_dropped_mid_file_is_resumed_with_a_range_request() {
    let server = TestServer::start();
    let body = payload(40_000);
    server.route("/files/data.bin", &body, Behaviour::DropFirstAfter(12_345));
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(Some(&sha(&body))));

    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("datasets/up/data.bin")).unwrap(),
        body
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range.as_deref(), Some("bytes=12345-"));
}

#[test]
fn redirects_are_followed_with_the_range_kept() {
    let server = TestServer::start();
    let body = payload(30_000);
    server.route(
        "/files/data.bin",
        b"",
        Behaviour::Redirect("/cdn/blob".to_string()),
    );
    server.route("/cdn/blob", &body, Behaviour::DropFirstAfter(7000));
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(Some(&sha(&body))));

    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("datasets/up/data.bin")).unwrap(),
        body
    );
    let blob: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|s| s.path == "/cdn/blob")
        .collect();
    assert_eq!(blob.len(), 2);
    assert_eq!(blob[1].range.as_deref(), Some("bytes=7000-"));
}

#[test]
fn not_found_fails_at_once_with_a_clear_message() {
    let server = TestServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(None));

    let err = fetch_upstream(&cache, &spec, &client(), &endpoints(&server))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 404") && err.contains("not found"),
        "{err}"
    );
    assert!(err.contains("/files/data.bin"), "{err}");
    assert_eq!(server.hits("/files/data.bin"), 1, "a 4xx is not retried");
    assert!(!tmp.path().join("datasets/up/data.bin").exists());
}

#[test]
fn server_ignoring_range_restarts_from_zero() {
    let server = TestServer::start();
    let body = payload(20_000);
    server.route("/files/data.bin", &body, Behaviour::IgnoreRange);
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(Some(&sha(&body))));
    // A partial file left by an earlier run.
    let partial = tmp.path().join(".partial/up");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("data.bin.part"), &body[..5000]).unwrap();

    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("datasets/up/data.bin")).unwrap(),
        body,
        "the 200 answer must replace the partial bytes, not be appended to them"
    );
    assert_eq!(server.seen()[0].range.as_deref(), Some("bytes=5000-"));
}

#[test]
fn transient_503_is_retried_with_backoff() {
    let server = TestServer::start();
    let body = payload(3000);
    server.route("/files/data.bin", &body, Behaviour::FailFirst(2, 503));
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(Some(&sha(&body))));

    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    assert_eq!(server.hits("/files/data.bin"), 3);

    // With fewer tries than failures it gives up and says so.
    let server = TestServer::start();
    server.route("/files/data.bin", &body, Behaviour::Status(503));
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(Some(&sha(&body))));
    let err = format!(
        "{:#}",
        fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap_err()
    );
    assert!(
        err.contains("giving up") && err.contains("4 tries"),
        "{err}"
    );
    assert_eq!(server.hits("/files/data.bin"), 4);
}

#[test]
fn trust_on_first_use_records_the_hash_and_enforces_it_later() {
    let server = TestServer::start();
    let first = payload(4000);
    server.route("/files/data.bin", &first, Behaviour::Serve);
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &plain_file(None));

    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    let lock = UpstreamLock::load(tmp.path()).unwrap();
    let entry = lock
        .get("up", "data.bin")
        .expect("first download is recorded");
    assert_eq!(entry.sha256, sha(&first));
    assert_eq!(entry.size, 4000);
    assert_eq!(cache.check(&spec).unwrap()[0].1, FileState::Valid);

    // Upstream changes the file; the cached copy is lost; the next download must not pass.
    let changed = payload(4001);
    server.route("/files/data.bin", &changed, Behaviour::Serve);
    std::fs::remove_file(tmp.path().join("datasets/up/data.bin")).unwrap();
    let err = fetch_upstream(&cache, &spec, &client(), &endpoints(&server))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&sha(&first)) && err.contains(&sha(&changed)),
        "{err}"
    );
    assert!(
        err.contains("upstream.lock.json") && err.contains("`up/data.bin`"),
        "{err}"
    );
    assert!(!tmp.path().join("datasets/up/data.bin").exists());
}

fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn archive_file(sha256: &str) -> String {
    format!(
        r#"{{"path": "aclImdb", "from": "a.tar.gz", "sha256": "{sha256}", "unpack": "tar-gz"}}"#
    )
}

#[test]
fn archive_is_unpacked_into_place_with_a_completion_stamp() {
    let server = TestServer::start();
    let archive = tar_gz(&[
        ("aclImdb/train/pos/0_9.txt", b"great film"),
        ("aclImdb/train/neg/1_2.txt", b"dull"),
        ("aclImdb/README", b"readme"),
    ]);
    server.route("/files/a.tar.gz", &archive, Behaviour::Serve);
    let tmp = tempfile::tempdir().unwrap();
    let (cache, spec) = cache_with(tmp.path(), &server.base, &archive_file(&sha(&archive)));

    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    let dir = cache.resolve("up").unwrap();
    assert_eq!(
        std::fs::read(dir.join("aclImdb/train/pos/0_9.txt")).unwrap(),
        b"great film"
    );
    let stamp: UnpackStamp =
        serde_json::from_str(&std::fs::read_to_string(dir.join("aclImdb.complete.json")).unwrap())
            .unwrap();
    assert_eq!(stamp.files, 3);
    assert_eq!(stamp.archive_sha256, sha(&archive));
    assert!(!tmp
        .path()
        .join(".staging")
        .read_dir()
        .unwrap()
        .any(|_| true));
    // The archive itself is not kept.
    assert!(!tmp.path().join(".partial/up/a.tar.gz.part").exists());
    fetch_upstream(&cache, &spec, &client(), &endpoints(&server)).unwrap();
    assert_eq!(server.hits("/files/a.tar.gz"), 1);
}

#[test]
fn malicious_archive_is_refused_and_never_looks_complete() {
    let server = TestServer::start();
    let archive = tar_gz(&[
        ("aclImdb/train/pos/0_9.txt", b"fine"),
        ("aclImdb/../../../escaped.txt", b"pwned"),
    ]);
    server.route("/files/a.tar.gz", &archive, Behaviour::Serve);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cache");
    let (cache, spec) = cache_with(&root, &server.base, &archive_file(&sha(&archive)));

    let err = fetch_upstream(&cache, &spec, &client(), &endpoints(&server))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`aclImdb/../../../escaped.txt`") && err.contains("outside"),
        "{err}"
    );
    assert!(!tmp.path().join("escaped.txt").exists());
    assert!(!root.join("escaped.txt").exists());
    assert!(
        cache.resolve("up").is_err(),
        "a refused archive must not look fetched"
    );
    assert!(!root.join("datasets/up/aclImdb").exists());
}

#[test]
fn hub_token_is_sent_as_bearer_and_mirror_credentials_never_printed() {
    let server = TestServer::start();
    let body = payload(100);
    server.route(
        "/org/model/resolve/abc123/config.json",
        &body,
        Behaviour::Serve,
    );
    let tmp = tempfile::tempdir().unwrap();
    let json = format!(
        r#"{{"schema": 1, "assets": [{{"name": "m", "kind": "model", "license": "MIT",
        "description": "d", "source": {{"hub": {{"repo": "org/model", "revision": "abc123"}}}},
        "files": [{{"path": "config.json", "from": "config.json", "sha256": "{}"}}]}}]}}"#,
        sha(&body)
    );
    let cache = Cache::new(
        tmp.path().to_path_buf(),
        Manifest::parse(&json, "t").unwrap(),
    );
    let spec = cache.manifest().get("m").unwrap().clone();
    let ends = Endpoints {
        hub: server.base.clone(),
        mirror: None,
        hub_token: Some("hf_s3cret".into()),
    };
    fetch_upstream(&cache, &spec, &client(), &ends).unwrap();
    assert_eq!(
        server.seen()[0].authorization.as_deref(),
        Some("Bearer hf_s3cret")
    );

    // Through a mirror the hub token stays home.
    let ends = Endpoints {
        hub: "https://hub.invalid".into(),
        mirror: Some(server.base.clone()),
        hub_token: Some("hf_s3cret".into()),
    };
    std::fs::remove_dir_all(tmp.path().join("models")).unwrap();
    fetch_upstream(&cache, &spec, &client(), &ends).unwrap();
    assert_eq!(server.seen()[1].authorization, None);

    // A mirror with credentials in its URL: basic auth on the wire, never in the message.
    let authority = server.base.trim_start_matches("http://");
    let ends = Endpoints {
        hub: "https://hub.invalid".into(),
        mirror: Some(format!("http://alice:pa55word@{authority}/missing")),
        hub_token: None,
    };
    std::fs::remove_dir_all(tmp.path().join("models")).unwrap();
    let err = format!(
        "{:#}",
        fetch_upstream(&cache, &spec, &client(), &ends).unwrap_err()
    );
    assert!(err.contains("HTTP 404"), "{err}");
    assert!(!err.contains("pa55word") && !err.contains("alice"), "{err}");
    let last = server.seen().last().unwrap().clone();
    assert_eq!(last.path, "/missing/org/model/resolve/abc123/config.json");
    assert_eq!(
        last.authorization.as_deref(),
        Some("Basic YWxpY2U6cGE1NXdvcmQ=")
    );
}

#[test]
fn hub_endpoint_and_mirror_shape_the_urls() {
    let hub = Source::Hub {
        repo: "google-bert/bert-base-uncased".into(),
        revision: "main".into(),
    };
    let site = Source::Url {
        base: "https://ai.example/~a/data/".into(),
    };
    let mut ends = Endpoints {
        hub: "https://hf.corp/".into(),
        mirror: None,
        hub_token: None,
    };
    assert_eq!(
        ends.url(&hub, "model.safetensors").unwrap(),
        "https://hf.corp/google-bert/bert-base-uncased/resolve/main/model.safetensors"
    );
    assert_eq!(
        ends.url(&site, "x.tar.gz").unwrap(),
        "https://ai.example/~a/data/x.tar.gz"
    );
    ends.mirror = Some("https://m.corp/proxy/".into());
    assert_eq!(
        ends.url(&site, "x.tar.gz").unwrap(),
        "https://m.corp/proxy/~a/data/x.tar.gz"
    );
    assert_eq!(
        ends.url(&hub, "config.json").unwrap(),
        "https://m.corp/proxy/google-bert/bert-base-uncased/resolve/main/config.json"
    );
}
