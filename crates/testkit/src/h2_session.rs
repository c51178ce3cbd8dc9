//! HTTP/2 made by a real implementation, the `h2` crate (hyper's): its client sends requests to
//! its server over an in-memory pipe, and the bytes each side wrote are kept, ready to be carried
//! inside a TLS session ([`crate::tls_session`]). HPACK as a real encoder does it (Huffman
//! strings, dynamic table entries reused across requests), flow control, SETTINGS and all.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// A pipe end that keeps a copy of what is written to it.
struct Tap {
    inner: DuplexStream,
    written: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r
            && let Ok(mut w) = self.written.lock()
        {
            w.extend_from_slice(&buf[..*n]);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One request: method, authority, path, headers, body.
pub type Request<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, String)>, Vec<u8>);

/// The bytes the h2 client and the h2 server wrote while the client sent `requests` one after
/// the other on one connection and the server answered each with `200` and `ok`.
///
/// # Panics
/// When h2 reports an error (a test bug).
pub fn exchange(requests: &[Request<'_>]) -> (Vec<u8>, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (c, s) = tokio::io::duplex(1 << 20);
    let cw = Arc::new(Mutex::new(Vec::new()));
    let sw = Arc::new(Mutex::new(Vec::new()));
    let client_io = Tap { inner: c, written: cw.clone() };
    let server_io = Tap { inner: s, written: sw.clone() };
    let n = requests.len();
    rt.block_on(async move {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                let server = tokio::task::spawn_local(async move {
                    let mut conn =
                        h2::server::handshake(server_io).await.expect("server handshake");
                    for _ in 0..n {
                        let Some(Ok((req, mut respond))) = conn.accept().await else { break };
                        let mut body = req.into_body();
                        while let Some(Ok(chunk)) = body.data().await {
                            let _ = body.flow_control().release_capacity(chunk.len());
                        }
                        let resp =
                            http::Response::builder().status(200).body(()).expect("response");
                        let mut send = respond.send_response(resp, false).expect("send response");
                        send.send_data(Bytes::from_static(b"ok"), true).expect("send data");
                    }
                    // Let the last frames out.
                    let _ = futures_poll(&mut conn).await;
                });
                let (mut send, conn) =
                    h2::client::handshake(client_io).await.expect("client handshake");
                tokio::task::spawn_local(async move {
                    let _ = conn.await;
                });
                for (method, authority, path, headers, body) in requests {
                    let mut b = http::Request::builder()
                        .method(*method)
                        .uri(format!("https://{authority}{path}"));
                    for (k, v) in headers {
                        b = b.header(*k, v.as_str());
                    }
                    let req = b.body(()).expect("request");
                    send = send.ready().await.expect("ready");
                    let (resp, mut stream) =
                        send.send_request(req, body.is_empty()).expect("send request");
                    if !body.is_empty() {
                        stream.send_data(Bytes::from(body.clone()), true).expect("send body");
                    }
                    let resp = resp.await.expect("response");
                    let mut rb = resp.into_body();
                    while let Some(Ok(_)) = rb.data().await {}
                }
                drop(send);
                let _ = server.await;
            })
            .await;
    });
    let c = cw.lock().map(|v| v.clone()).unwrap_or_default();
    let s = sw.lock().map(|v| v.clone()).unwrap_or_default();
    (c, s)
}

/// Drives a server connection until it has nothing left to do (or 50 polls).
async fn futures_poll<T: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut h2::server::Connection<T, Bytes>,
) -> Option<()> {
    for _ in 0..50 {
        let next = std::future::poll_fn(|cx| match conn.poll_accept(cx) {
            Poll::Pending => Poll::Ready(None),
            other => Poll::Ready(Some(other)),
        })
        .await;
        next.as_ref()?;
    }
    Some(())
}
