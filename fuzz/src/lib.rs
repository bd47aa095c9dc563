//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Polls a future that never waits (in-memory stores and keys) to completion.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory operation waited"),
    }
}

/// A request read from fuzz input: `METHOD TARGET` on the first line, then `name: value`
/// header lines, then an empty line and the body (bytes).
#[derive(Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: &'a str,
    /// The request target.
    pub target: &'a str,
    /// The header fields, in order.
    pub headers: Vec<(&'a str, &'a [u8])>,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// Splits `data`; `None` when the head is not readable.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &b""[..]),
        };
        let mut lines = head.split(|&b| b == b'\n');
        let first = std::str::from_utf8(lines.next()?).ok()?;
        let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
        let mut headers = Vec::new();
        for line in lines {
            let at = line.iter().position(|&b| b == b':')?;
            let name = std::str::from_utf8(&line[..at]).ok()?;
            let mut value = &line[at + 1..];
            while let [b' ', rest @ ..] = value {
                value = rest;
            }
            headers.push((name, value));
        }
        Some(Self {
            method,
            target,
            headers,
            body,
        })
    }

    /// The header fields as a `HeaderList`.
    pub fn header_list(&self) -> auth_core::HeaderList {
        let mut list = auth_core::HeaderList::new();
        for (name, value) in &self.headers {
            list.push(*name, *value);
        }
        list
    }
}
