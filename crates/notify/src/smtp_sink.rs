//! An SMTP sink for tests: speaks enough of RFC 5321 (greeting, EHLO,
//! MAIL, RCPT, DATA with dot-termination, QUIT) for lettre to deliver to
//! it, and keeps each message's DATA as received.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The messages received so far, each its DATA section.
pub type Received = Arc<Mutex<Vec<String>>>;

/// Listens on a loopback port; returns the port and what arrives.
pub async fn smtp_sink() -> (u16, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("bound").port();
    let messages: Received = Arc::new(Mutex::new(Vec::new()));
    let kept = messages.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(session(stream, kept.clone()));
        }
    });
    (port, messages)
}

async fn session(stream: tokio::net::TcpStream, kept: Received) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let verb = line.to_ascii_uppercase();
        let reply: &[u8] = if verb.starts_with("EHLO") || verb.starts_with("HELO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if verb.starts_with("DATA") {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push_str(&l);
                data.push('\n');
            }
            kept.lock().unwrap_or_else(|p| p.into_inner()).push(data);
            b"250 2.0.0 queued\r\n"
        } else if verb.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
