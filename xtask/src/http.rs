//! Downloading one URL to a file: streamed, resumable, retried, and quiet about credentials.
//!
//! The bytes go to a `.part` file that survives a failed run, so the next attempt (or the next
//! `cargo xtask fetch-data`) asks the server for the rest with a `Range` request. A server that
//! ignores the range (answers 200 instead of 206) is handled by starting over from zero.
//! Connection errors, timeouts, 408, 429 and 5xx are retried with exponential back-off; any
//! other 4xx stops at once with a message saying what the status means here.
//!
//! Credentials never reach a log or an error: URLs are printed through [`redact`], and the
//! bearer token / basic-auth header is only ever put on the request itself.
use anyhow::{anyhow, Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// How often and how patiently a transient failure is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total tries, the first one included.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub first_delay: Duration,
    /// The longest wait between two tries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed try number `failures` (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32 << (failures.saturating_sub(1)).min(16);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Credentials for one request. Kept out of `Debug` so they cannot be logged by accident.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer <token>` (the model hub's `HF_TOKEN`).
    Bearer(String),
    /// `Authorization: Basic …`, from `user:password@` in a mirror URL.
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Bearer(_) => "Auth::Bearer(<redacted>)",
            Auth::Basic { .. } => "Auth::Basic(<redacted>)",
        })
    }
}

impl Auth {
    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64(format!("{user}:{password}").as_bytes())
            )),
        }
    }
}

/// A blocking HTTP client with a retry policy.
pub struct Http {
    agent: ureq::Agent,
    retry: RetryPolicy,
    progress: bool,
}

/// Why one try failed: worth another try, or not.
enum Failure {
    Transient(anyhow::Error),
    Fatal(anyhow::Error),
}

impl Http {
    /// `env_proxy`: honour `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` (off in tests, which talk to
    /// 127.0.0.1 and must not be routed through a proxy the machine happens to have).
    /// `progress`: draw a progress bar on stderr (it stays hidden when stderr is no terminal).
    pub fn new(retry: RetryPolicy, env_proxy: bool, progress: bool) -> Http {
        let config = ureq::Agent::config_builder()
            // Statuses are answered by `try_once`, which knows which ones are worth a retry.
            .http_status_as_error(false)
            .proxy(if env_proxy {
                ureq::Proxy::try_from_env()
            } else {
                None
            })
            // The hub redirects within itself (renamed repos) and then to a CDN: credentials
            // follow the first kind only, never to another host.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .timeout_connect(Some(Duration::from_secs(30)))
            // A stalled transfer is an error (then resumed), not an endless wait.
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("ft-xtask/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: config.into(),
            retry,
            progress,
        }
    }

    /// Downloads `url` into `part`, resuming what an earlier try left there. Returns the size
    /// of the complete file. `label` names the file in the progress bar and in messages.
    pub fn download(&self, url: &str, auth: &Auth, part: &Path, label: &str) -> Result<u64> {
        let mut failures = 0;
        loop {
            match self.try_once(url, auth, part, label) {
                Ok(size) => return Ok(size),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(e)) => {
                    failures += 1;
                    if failures >= self.retry.attempts {
                        return Err(e.context(format!(
                            "giving up on {} after {failures} tries (the partial download is kept in {} and resumed next time)",
                            redact(url),
                            part.display()
                        )));
                    }
                    let wait = self.retry.delay(failures);
                    eprintln!(
                        "fetch-data: {label}: {e:#}; retrying in {:.1} s (try {} of {})",
                        wait.as_secs_f64(),
                        failures + 1,
                        self.retry.attempts
                    );
                    std::thread::sleep(wait);
                }
            }
        }
    }

    fn try_once(&self, url: &str, auth: &Auth, part: &Path, label: &str) -> Result<u64, Failure> {
        let fatal = |e: anyhow::Error| Failure::Fatal(e);
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut request = self.agent.get(strip_userinfo(url));
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        if let Some(value) = auth.header() {
            request = request.header("Authorization", value);
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(e) => {
                let transient = is_transient(&e);
                let e = anyhow!(
                    "request to {} failed: {}",
                    redact(url),
                    redact_text(&e.to_string(), url)
                );
                return Err(if transient {
                    Failure::Transient(e)
                } else {
                    Failure::Fatal(e)
                });
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_length = header("content-length").and_then(|v| v.parse::<u64>().ok());
        let (mut file, start) = match status {
            200 => {
                if have > 0 {
                    println!(
                        "fetch-data: {label}: the server ignored the range request; downloading from the start"
                    );
                }
                let file = File::create(part)
                    .with_context(|| format!("cannot write {}", part.display()))
                    .map_err(fatal)?;
                (file, 0)
            }
            206 => {
                let range = header("content-range").unwrap_or_default();
                if !range.starts_with(&format!("bytes {have}-")) {
                    // Not the bytes we asked for: start over rather than splice wrong data.
                    let _ = std::fs::remove_file(part);
                    return Err(Failure::Transient(anyhow!(
                        "the server answered the range request with `{range}`"
                    )));
                }
                let file = OpenOptions::new()
                    .append(true)
                    .open(part)
                    .with_context(|| format!("cannot append to {}", part.display()))
                    .map_err(fatal)?;
                (file, have)
            }
            // The partial file already holds every byte; the checksum decides whether it is right.
            416 if have > 0 => return Ok(have),
            408 | 429 | 500..=599 => {
                return Err(Failure::Transient(anyhow!(
                    "HTTP {status} from {}",
                    redact(url)
                )))
            }
            _ => return Err(Failure::Fatal(status_error(status, url))),
        };
        let total = content_length.map(|n| n + start);
        let bar = self.progress_bar(label, total, start);
        let mut body = response.into_body().into_reader();
        let mut written = start;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = file.flush();
                    bar.abandon();
                    return Err(Failure::Transient(anyhow!(
                        "the connection broke after {written} bytes: {e}"
                    )));
                }
            };
            file.write_all(&buf[..n])
                .with_context(|| format!("cannot write {}", part.display()))
                .map_err(fatal)?;
            written += n as u64;
            bar.set_position(written);
        }
        file.sync_all()
            .with_context(|| format!("cannot write {}", part.display()))
            .map_err(fatal)?;
        bar.finish_and_clear();
        if let Some(total) = total {
            if written != total {
                return Err(Failure::Transient(anyhow!(
                    "the connection closed after {written} of {total} bytes"
                )));
            }
        }
        Ok(written)
    }

    fn progress_bar(&self, label: &str, total: Option<u64>, start: u64) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let bar = match total {
            Some(total) => indicatif::ProgressBar::new(total),
            None => indicatif::ProgressBar::no_length(),
        };
        let style = indicatif::ProgressStyle::with_template(
            "{msg:24} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(label.to_string());
        bar.set_position(start);
        bar
    }
}

/// Connection-level failures are worth retrying; a malformed URL or a TLS refusal is not.
fn is_transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    )
}

fn status_error(status: u16, url: &str) -> anyhow::Error {
    let hint = match status {
        401 | 403 => {
            "access denied: the file needs credentials (set HF_TOKEN for the model hub, or put them in the --mirror URL) or is not public"
        }
        404 | 410 => {
            "not found: the file is not at this address (a wrong manifest entry, a mirror without it, or the upstream removed it)"
        }
        _ => "the server refused the request",
    };
    anyhow!("HTTP {status} for {}: {hint}", redact(url))
}

/// The URL as it may be printed: no `user:password@`, no query string (signed URLs carry
/// their secret there).
pub fn redact(url: &str) -> String {
    let url = strip_userinfo(url);
    match url.split_once('?') {
        Some((before, _)) => format!("{before}?<redacted>"),
        None => url,
    }
}

/// Removes any copy of a secret-bearing URL from a library's error text.
fn redact_text(text: &str, url: &str) -> String {
    let mut text = text.replace(url, &redact(url));
    if let Some((user, password)) = userinfo(url) {
        if !password.is_empty() {
            text = text.replace(&password, "<redacted>");
        }
        if !user.is_empty() {
            text = text.replace(&format!("{user}:"), "<redacted>:");
        }
    }
    text
}

/// `scheme://user:pw@host/…` → `scheme://host/…`.
pub fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// The `user`, `password` of a URL's userinfo, if it has one.
pub fn userinfo(url: &str) -> Option<(String, String)> {
    let (_, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let (info, _) = authority.rsplit_once('@')?;
    let (user, password) = info.split_once(':').unwrap_or((info, ""));
    Some((user.to_string(), password.to_string()))
}

/// Standard base64 with padding: all that basic auth needs, without another dependency.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_strips_credentials_and_queries() {
        let url = "https://alice:s3cret@mirror.example/models/x?token=abc";
        let shown = redact(url);
        assert_eq!(shown, "https://mirror.example/models/x?<redacted>");
        assert_eq!(
            userinfo(url),
            Some(("alice".to_string(), "s3cret".to_string()))
        );
        assert_eq!(strip_userinfo("http://h/a@b"), "http://h/a@b");
        let text = redact_text(&format!("boom at {url} with s3cret"), url);
        assert!(!text.contains("s3cret") && !text.contains("abc"), "{text}");
        assert_eq!(
            format!("{:?}", Auth::Bearer("hf_x".into())),
            "Auth::Bearer(<redacted>)"
        );
    }

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        let waits: Vec<u128> = (1..=4).map(|f| p.delay(f).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 350, 350]);
    }
}
