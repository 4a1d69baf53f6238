//! A reader that passes UTF-8 through and replaces invalid sequences with
//! U+FFFD, as `String::from_utf8_lossy` does, but as the bytes stream by:
//! receivers send reports with stray Latin-1 bytes, and a streamed report
//! is never whole in memory to be fixed at once.

use std::io::{self, Read};

const CHUNK: usize = 64 * 1024;

pub struct Utf8Lossy<R> {
    inner: R,
    /// Bytes ready to hand out, `ready[pos..]`.
    ready: Vec<u8>,
    pos: usize,
    /// The start of a sequence cut by the chunk boundary.
    carry: Vec<u8>,
    chunk: Vec<u8>,
    done: bool,
}

impl<R: Read> Utf8Lossy<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            ready: Vec::with_capacity(CHUNK + 4),
            pos: 0,
            carry: Vec::new(),
            chunk: vec![0; CHUNK],
            done: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        let n = self.inner.read(&mut self.chunk)?;
        self.ready.clear();
        self.pos = 0;
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(&self.chunk[..n]);
        if n == 0 {
            self.done = true;
            // What is left can never be completed.
            self.ready
                .extend_from_slice(String::from_utf8_lossy(&data).as_bytes());
            return Ok(());
        }
        let mut rest = &data[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    self.ready.extend_from_slice(valid.as_bytes());
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.ready.extend_from_slice(valid);
                    match e.error_len() {
                        Some(bad) => {
                            self.ready.extend_from_slice("\u{FFFD}".as_bytes());
                            rest = &after[bad..];
                        }
                        None => {
                            self.carry = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf8Lossy<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.ready.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.ready.len() - self.pos);
        out[..n].copy_from_slice(&self.ready[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte at a time, to cut every sequence.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.0.split_first() {
                Some((b, rest)) if !out.is_empty() => {
                    out[0] = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn matches_from_utf8_lossy_whatever_the_cuts() {
        let input: &[u8] = b"caf\xc3\xa9 \xe9t\xe9 \xf0\x9f\x98\x80 end\xe2\x82";
        let mut out = Vec::new();
        Utf8Lossy::new(Trickle(input))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8_lossy(input)
        );
    }
}
