//! A tiny HTTP/1.1 server on 127.0.0.1 for the download tests: it serves fixed bytes per path
//! and can misbehave on purpose (drop the connection mid-body, ignore `Range`, fail with a
//! status a few times). One request per connection; nothing leaves the machine.
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How a path answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// 200 with the body; 206 for `Range: bytes=N-`.
    Serve,
    /// Always 200 with the whole body, whatever `Range` says.
    IgnoreRange,
    /// The first request gets the full `Content-Length` but only this many bytes, then the
    /// connection is closed; later requests are served normally (with `Range`).
    DropFirstAfter(usize),
    /// The first `n` requests get this status; later ones are served normally.
    FailFirst(usize, u16),
    /// Always this status.
    Status(u16),
    /// `302 Found` to this location (the hub sends its files on to a CDN this way).
    Redirect(String),
}

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
    pub authorization: Option<String>,
}

type Routes = HashMap<String, (Vec<u8>, Behaviour)>;

pub struct TestServer {
    pub base: String,
    routes: Arc<Mutex<Routes>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Arc<Mutex<Routes>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (r, s) = (routes.clone(), seen.clone());
        // The thread ends with the test process; each test has its own server and port.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = handle(stream, &r, &s);
            }
        });
        TestServer { base, routes, seen }
    }

    pub fn route(&self, path: &str, body: &[u8], behaviour: Behaviour) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), (body.to_vec(), behaviour));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

fn handle(
    mut stream: TcpStream,
    routes: &Mutex<Routes>,
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (mut range, mut authorization) = (None, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "range" => range = Some(value.trim().to_string()),
                "authorization" => authorization = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    let earlier = {
        let mut seen = seen.lock().unwrap();
        let earlier = seen.iter().filter(|s| s.path == path).count();
        seen.push(Seen {
            path: path.clone(),
            range: range.clone(),
            authorization,
        });
        earlier
    };
    let route = routes.lock().unwrap().get(&path).cloned();
    let Some((body, behaviour)) = route else {
        return respond(&mut stream, 404, &[], b"no such file");
    };
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    match behaviour {
        Behaviour::Status(code) => respond(&mut stream, code, &[], b"nope"),
        Behaviour::Redirect(to) => respond(&mut stream, 302, &[("Location", &to)], b""),
        Behaviour::FailFirst(n, code) if earlier < n => respond(&mut stream, code, &[], b"busy"),
        Behaviour::IgnoreRange => respond(&mut stream, 200, &[], &body),
        Behaviour::DropFirstAfter(n) if earlier == 0 => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(&body[..n])?;
            stream.flush()?;
            stream.shutdown(std::net::Shutdown::Both)
        }
        _ => match start {
            Some(s) if s >= body.len() => respond(&mut stream, 416, &[], b""),
            Some(s) => {
                let content_range = format!("bytes {s}-{}/{}", body.len() - 1, body.len());
                respond(
                    &mut stream,
                    206,
                    &[("Content-Range", &content_range)],
                    &body[s..],
                )
            }
            None => respond(&mut stream, 200, &[], &body),
        },
    }
}

fn respond(
    stream: &mut TcpStream,
    code: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}
