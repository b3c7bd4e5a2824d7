//! The daemons' CLIs talking to their own daemon's admin port (HTTP/1.1 on hyper), with the
//! admin token.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use crate::error::{DaemonError, Result};

fn failed(addr: &str, e: impl std::fmt::Display) -> DaemonError {
    DaemonError::Bind { addr: addr.to_string(), reason: format!("admin request failed: {e}") }
}

/// Sends `method path` with `body` to the admin port at `addr` with the bearer `token`;
/// answers the status code and the response body.
///
/// # Errors
/// [`DaemonError::Bind`] naming the address when the daemon does not answer.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: String,
) -> Result<(u16, String)> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| failed(addr, e))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| failed(addr, e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| failed(addr, e))?;
    let resp = sender.send_request(req).await.map_err(|e| failed(addr, e))?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.map_err(|e| failed(addr, e))?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
