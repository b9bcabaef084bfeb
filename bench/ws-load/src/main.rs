//! `ws-load`: the WebSocket load tool of `bench/websocket.sh`.
//!
//! - `ws-load echo <addr> <read-buffer-bytes>`: the reference, a plain tokio-tungstenite echo
//!   server (one task per connection, `accept_async_with_config`).
//! - `ws-load idle <url> <connections> <server-pid>`: opens that many connections (200 at a
//!   time), prints the setup rate and the server's RSS growth per connection, then keeps them
//!   open while it measures round trips (`rtt`) on the first 64 with `<message>`.
//!
//! Output lines are `key=value` for the script to collect.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

type Socket = WebSocketStream<TcpStream>;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn echo(addr: String, read_buffer: usize) {
    let listener = TcpListener::bind(&addr).await.expect("bind");
    println!("listening={}", listener.local_addr().unwrap());
    let config = WebSocketConfig::default().read_buffer_size(read_buffer);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let Ok(mut ws) =
                tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
            else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if message.is_text() || message.is_binary() {
                    if ws.send(message).await.is_err() {
                        return;
                    }
                } else if message.is_close() {
                    return;
                }
            }
        });
    }
}

async fn open(url: &str) -> Option<Socket> {
    let request = url.to_string();
    let host = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let stream = TcpStream::connect(&host).await.ok()?;
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        request,
        stream,
        Some(config),
    )
    .await
    .ok()?;
    Some(ws)
}

async fn idle(url: String, count: usize, pid: u32, message: String, seconds: u64) {
    let before = rss_kib(pid);
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(count);
    let mut failed = 0usize;
    let mut pending = futures_util::stream::iter(0..count)
        .map(|_| {
            let url = url.clone();
            async move { open(&url).await }
        })
        .buffer_unordered(200);
    while let Some(result) = pending.next().await {
        match result {
            Some(ws) => sockets.push(ws),
            None => failed += 1,
        }
    }
    drop(pending);
    let elapsed = started.elapsed().as_secs_f64();
    println!("connections={}", sockets.len());
    println!("failed={failed}");
    println!("setup_per_sec={:.0}", sockets.len() as f64 / elapsed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    println!("rss_before_kib={before}");
    println!("rss_after_kib={after}");
    if !sockets.is_empty() {
        println!(
            "rss_per_connection_bytes={:.0}",
            (after.saturating_sub(before) * 1024) as f64 / sockets.len() as f64
        );
    }
    // Round trips on the first 64 connections, one message in flight on each.
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    let rest: Vec<Socket> = sockets.split_off(sockets.len().min(64));
    for mut ws in sockets {
        let done = Arc::clone(&done);
        let errors = Arc::clone(&errors);
        let message = message.clone();
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                if ws.send(Message::text(message.clone())).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return ws;
                }
                match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                    Ok(Some(Ok(m))) if m.is_text() || m.is_binary() => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        return ws;
                    }
                }
            }
            ws
        }));
    }
    let started = Instant::now();
    let mut sockets = Vec::new();
    for w in workers {
        if let Ok(ws) = w.await {
            sockets.push(ws);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "roundtrips_per_sec={:.0}",
        done.load(Ordering::Relaxed) as f64 / elapsed
    );
    println!("roundtrip_errors={}", errors.load(Ordering::Relaxed));
    sockets.extend(rest);
    let closing = futures_util::stream::iter(sockets)
        .map(|mut ws| async move {
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        })
        .buffer_unordered(500);
    closing.collect::<Vec<_>>().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("echo") => echo(args[2].clone(), args[3].parse().expect("read buffer")).await,
        Some("idle") => {
            idle(
                args[2].clone(),
                args[3].parse().expect("connections"),
                args[4].parse().expect("server pid"),
                args.get(5).cloned().unwrap_or_else(|| "{\"action\":\"echo\"}".into()),
                args.get(6).and_then(|s| s.parse().ok()).unwrap_or(5),
            )
            .await
        }
        _ => {
            eprintln!(
                "usage: ws-load echo <addr> <read-buffer> | ws-load idle <url> <n> <pid> [message] [seconds]"
            );
            std::process::exit(2);
        }
    }
}
