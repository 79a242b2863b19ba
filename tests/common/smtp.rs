//! A small SMTP server on loopback for the mail tests: it speaks enough of RFC 5321 for a
//! real client (lettre) to deliver to it (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing,
//! RSET, NOOP, QUIT), keeps what it received, can refuse chosen recipients with a 550, and
//! can be stopped and started again on the same port to play a mail server that is down.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One message as delivered: the envelope and the raw data.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Recipient address → the text of the 550 reply.
    refuse: HashMap<String, String>,
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Starts on a free port.
    pub fn start() -> SmtpServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), Arc::default())
    }

    /// A port nothing listens on (for "the server is down" from the first attempt).
    pub fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Starts on `port`, e.g. the port of a server stopped before, or a free port.
    pub fn start_at(port: u16) -> SmtpServer {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], port)), Arc::default())
    }

    fn start_on(addr: SocketAddr, shared: Arc<Mutex<Shared>>) -> SmtpServer {
        let listener = TcpListener::bind(addr).expect("bind the SMTP test server");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&shared), Arc::clone(&stop));
        let accept = std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (s, st) = (Arc::clone(&s), Arc::clone(&st));
                        conns.push(std::thread::spawn(move || {
                            let _ = session(stream, &s, &st);
                        }));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(_) => break,
                }
            }
            for c in conns {
                let _ = c.join();
            }
        });
        SmtpServer {
            addr,
            shared,
            stop,
            accept: Some(accept),
        }
    }

    /// `smtp://127.0.0.1:PORT?tls=none`.
    pub fn url(&self) -> String {
        format!("smtp://{}?tls=none", self.addr)
    }

    /// Refuses mail to `address` with `550 <reason>`.
    pub fn refuse(&self, address: &str, reason: &str) {
        self.shared
            .lock()
            .unwrap()
            .refuse
            .insert(address.to_lowercase(), reason.to_owned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Waits until at least `n` messages arrived (or `timeout` passed); returns them all.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let end = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > end {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops listening and closes every connection (clients see the server go away).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.halt();
    }
}

fn session(stream: TcpStream, shared: &Mutex<Shared>, stop: &AtomicBool) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    let mut say = |text: &str| out.write_all(format!("{text}\r\n").as_bytes());
    say("220 localhost spotcheck-test ESMTP")?;
    let (mut from, mut to) = (String::new(), Vec::<String>::new());
    let mut line = String::new();
    // Reads one line, waking every 100 ms to see whether the server was stopped.
    let read_line = |input: &mut BufReader<TcpStream>, line: &mut String| -> std::io::Result<bool> {
        line.clear();
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(false);
            }
            match input.read_line(line) {
                Ok(0) => return Ok(false),
                Ok(_) if line.ends_with('\n') => return Ok(true),
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
                Err(e) => return Err(e),
            }
        }
    };
    while read_line(&mut input, &mut line)? {
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_uppercase();
        if upper.starts_with("EHLO") {
            say("250-localhost greets you")?;
            say("250-8BITMIME")?;
            say("250 SIZE 52428800")?;
        } else if upper.starts_with("HELO") {
            say("250 localhost")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&cmd[10..]);
            to.clear();
            say("250 2.1.0 Ok")?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = address(&cmd[8..]);
            let refusal = shared.lock().unwrap().refuse.get(&rcpt.to_lowercase()).cloned();
            match refusal {
                Some(reason) => say(&format!("550 5.1.1 {reason}"))?,
                None => {
                    to.push(rcpt);
                    say("250 2.1.5 Ok")?;
                }
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                say("554 5.5.1 No valid recipients")?;
                continue;
            }
            say("354 End data with <CR><LF>.<CR><LF>")?;
            let mut data = Vec::new();
            loop {
                if !read_line(&mut input, &mut line)? {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.extend_from_slice(l.as_bytes());
            }
            shared.lock().unwrap().received.push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            say("250 2.0.0 Ok: queued")?;
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            say("250 2.0.0 Ok")?;
        } else if upper == "NOOP" {
            say("250 2.0.0 Ok")?;
        } else if upper == "QUIT" {
            say("221 2.0.0 Bye")?;
            return Ok(());
        } else {
            say("502 5.5.2 Command not recognized")?;
        }
    }
    Ok(())
}

fn address(arg: &str) -> String {
    let a = arg.trim();
    let a = a.split_whitespace().next().unwrap_or(a);
    a.trim_start_matches('<').trim_end_matches('>').to_owned()
}
