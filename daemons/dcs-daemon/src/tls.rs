//! Mutual TLS between the tiers: every node holds a certificate issued by the deployment's CA
//! and accepts only peers whose certificate that CA issued.
//!
//! [`TlsFiles`] names the three PEM files of a node (the CA certificate, its own certificate
//! and its private key) and turns them into tonic's rustls server and client configurations.
//! [`DevCa`] is a development CA for one machine or a test: it writes a CA and issues node
//! certificates for given DNS names and IP addresses, so that a newcomer needs no openssl.
//! Private keys are written with mode 0600 and zeroized in memory after use.
//!
//! [`ServerTlsFiles`] is the TLS of a port that clients outside the deployment call (a
//! store's POS port): the server's certificate and key and, optionally, the CA whose client
//! certificates it verifies when a client presents one. [`tls_incoming`] accepts on such a
//! port and completes the handshakes, handing tonic streams whose peer certificates its
//! `Request::peer_certs` returns.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};
use zeroize::Zeroizing;

use crate::error::{DaemonError, Result};
use crate::files::{self, Access};

/// The PEM files of one node: the CA that issues every node's certificate, the node's own
/// certificate and its private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The CA certificate (PEM) that peers' certificates must chain to.
    pub ca: PathBuf,
    /// This node's certificate (PEM).
    pub cert: PathBuf,
    /// This node's private key (PEM, mode 0600).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Files named `ca.pem`, `NAME.pem` and `NAME.key` in `dir`.
    pub fn in_dir(dir: &Path, name: &str) -> Self {
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
        }
    }

    /// The same files with relative paths taken relative to `dir` (the config's directory).
    pub fn relative_to(&self, dir: &Path) -> Self {
        Self {
            ca: crate::files::relative_to(dir, &self.ca),
            cert: crate::files::relative_to(dir, &self.cert),
            key: crate::files::relative_to(dir, &self.key),
        }
    }

    fn identity(&self) -> Result<Identity> {
        let cert = read(&self.cert)?;
        let key = Zeroizing::new(read(&self.key)?);
        check_key_mode(&self.key)?;
        Ok(Identity::from_pem(cert, key.as_slice()))
    }

    fn ca_certificate(&self) -> Result<Certificate> {
        Ok(Certificate::from_pem(read(&self.ca)?))
    }

    /// A server that requires a client certificate issued by the CA (mutual TLS).
    pub fn server_config(&self) -> Result<ServerTlsConfig> {
        Ok(ServerTlsConfig::new().identity(self.identity()?).client_ca_root(self.ca_certificate()?))
    }

    /// A client that trusts only the CA, presents this node's certificate, and checks that the
    /// server's certificate names `server_name`.
    pub fn client_config(&self, server_name: &str) -> Result<ClientTlsConfig> {
        Ok(ClientTlsConfig::new()
            .ca_certificate(self.ca_certificate()?)
            .identity(self.identity()?)
            .domain_name(server_name))
    }
}

/// The TLS files of a port that clients outside the deployment call (a store's POS port):
/// the server's certificate and key, and optionally the CA of the clients' certificates.
/// With `client_ca`, a client may present a certificate (verified against that CA; one that
/// does not chain to it fails the handshake) or none (browsers, which authenticate by token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsFiles {
    /// The server's certificate, then any intermediates (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM, mode 0600).
    pub key: PathBuf,
    /// The CA (PEM) that client certificates must chain to; none: no client certificate is
    /// asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
}

/// The ALPN protocols a [`ServerTlsFiles`] port offers: h2 (gRPC, and gRPC-Web from browsers)
/// and HTTP/1.1 (gRPC-Web and files for clients that speak only HTTP/1.1).
const SERVER_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

impl ServerTlsFiles {
    /// The same files with relative paths taken relative to `dir` (the data directory).
    pub fn relative_to(&self, dir: &Path) -> Self {
        Self {
            cert: crate::files::relative_to(dir, &self.cert),
            key: crate::files::relative_to(dir, &self.key),
            client_ca: self.client_ca.as_ref().map(|ca| crate::files::relative_to(dir, ca)),
        }
    }

    /// Loads the files into a server configuration (rustls on ring, TLS 1.2 and 1.3, ALPN h2
    /// and HTTP/1.1), with client certificates optional but verified against `client_ca` when
    /// it is set.
    ///
    /// # Errors
    /// [`DaemonError::File`] for a missing or unreadable file, a key readable by others or a
    /// file holding no PEM certificate or key; [`DaemonError::Tls`] when the key does not fit
    /// the certificate.
    pub fn load(&self) -> Result<ServerTls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| DaemonError::Tls(format!("protocol versions: {e}")))?;
        let builder = match &self.client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots.add(cert).map_err(|e| DaemonError::File {
                        path: ca.clone(),
                        reason: format!("not a usable CA certificate: {e}"),
                    })?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .allow_unauthenticated()
                .build()
                .map_err(|e| DaemonError::Tls(format!("{}: {e}", ca.display())))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let chain = certificates(&self.cert)?;
        check_key_mode(&self.key)?;
        let key_pem = Zeroizing::new(read(&self.key)?);
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| DaemonError::File {
            path: self.key.clone(),
            reason: format!("not a PEM private key: {e}"),
        })?;
        let mut config = builder.with_single_cert(chain, key).map_err(|e| {
            DaemonError::Tls(format!(
                "{} and {}: the key does not fit the certificate or is unusable: {e}",
                self.cert.display(),
                self.key.display()
            ))
        })?;
        config.alpn_protocols = SERVER_ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(ServerTls { config: Arc::new(config), client_ca: self.client_ca.is_some() })
    }
}

/// A loaded [`ServerTlsFiles`]: what [`tls_incoming`] serves with.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    client_ca: bool,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("client_ca", &self.client_ca).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Whether clients may authenticate with a certificate (a client CA is set).
    pub fn verifies_client_certs(&self) -> bool {
        self.client_ca
    }
}

/// The certificates of the PEM file at `path` (at least one).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = read(path)?;
    let bad = |reason: String| DaemonError::File { path: path.to_path_buf(), reason };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(certs)
}

/// The SHA-256 of a certificate's DER bytes: how a registered client certificate is named.
pub fn cert_sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The SHA-256 of the first certificate (the leaf) of the PEM file at `path`.
///
/// # Errors
/// [`DaemonError::File`] for a missing file or one holding no PEM certificate.
pub fn pem_cert_sha256(path: &Path) -> Result<[u8; 32]> {
    let certs = certificates(path)?;
    let leaf = certs.first().ok_or_else(|| DaemonError::File {
        path: path.to_path_buf(),
        reason: "holds no PEM certificate".into(),
    })?;
    Ok(cert_sha256(leaf))
}

/// Most TLS handshakes under way at once on a [`tls_incoming`] port; further connections
/// wait in the listen backlog.
pub const MAX_PENDING_HANDSHAKES: usize = 256;

/// How long a client has to complete its TLS handshake before it is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS connections of `listener`, for tonic's `serve_with_incoming_shutdown`: each
/// accepted connection is handshaken in its own task (at most [`MAX_PENDING_HANDSHAKES`] at
/// once, each within [`HANDSHAKE_TIMEOUT`]), so one slow client holds up nobody. A failed
/// handshake (no common protocol, a client certificate the CA did not issue) is logged at
/// debug and counted in `dcs_tls_handshake_failures_total`; the stream ends when `stop` is
/// cancelled. tonic reads each stream's peer certificates into `Request::peer_certs`.
pub fn tls_incoming(
    listener: TcpListener,
    tls: &ServerTls,
    stop: CancellationToken,
) -> tokio_stream::wrappers::ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.config));
    let pending = Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let permit = tokio::select! {
                () = stop.cancelled() => return,
                permit = Arc::clone(&pending).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let (tcp, peer) = tokio::select! {
                () = stop.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors, say: wait a little instead of spinning.
                        tracing::warn!(error = %e, "cannot accept a TLS connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                let done = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
                drop(permit);
                let reason = match done {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                        return;
                    }
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => format!("not done within {} s", HANDSHAKE_TIMEOUT.as_secs()),
                };
                metrics::counter!("dcs_tls_handshake_failures_total").increment(1);
                tracing::debug!(%peer, %reason, "TLS handshake failed");
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| DaemonError::file(path, &e))
}

#[cfg(unix)]
fn check_key_mode(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(|e| DaemonError::file(path, &e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(DaemonError::File {
            path: path.to_path_buf(),
            reason: "a private key readable by group or others is refused: chmod 600 it".into(),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_mode(_: &Path) -> Result<()> {
    Ok(())
}

fn tls_err(what: &str) -> impl FnOnce(rcgen::Error) -> DaemonError + '_ {
    move |e| DaemonError::Tls(format!("{what}: {e}"))
}

/// The distinguished name of the development CA.
const DEV_CA_NAME: &str = "DCS development CA";

/// A development certificate authority: one key and a self-signed CA certificate, kept as
/// `ca.pem` and `ca.key` in a directory.
pub struct DevCa {
    params: CertificateParams,
    key: KeyPair,
    cert_pem: String,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevCa(<key redacted>)")
    }
}

impl DevCa {
    fn ca_params() -> Result<CertificateParams> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err("CA"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, DEV_CA_NAME);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ok(params)
    }

    /// A fresh CA (ECDSA P-256).
    pub fn generate() -> Result<Self> {
        let key = KeyPair::generate().map_err(tls_err("CA key"))?;
        let params = Self::ca_params()?;
        let cert_pem = params.self_signed(&key).map_err(tls_err("CA certificate"))?.pem();
        Ok(Self { params, key, cert_pem })
    }

    /// The CA in `dir` (`ca.pem`, `ca.key`), made and written there if it does not exist yet.
    pub fn open_or_create(dir: &Path) -> Result<Self> {
        let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
        if cert_path.exists() && key_path.exists() {
            check_key_mode(&key_path)?;
            let key_pem = Zeroizing::new(String::from_utf8(read(&key_path)?).map_err(|_| {
                DaemonError::File {
                    path: key_path.clone(),
                    reason: "not a PEM key (not UTF-8)".into(),
                }
            })?);
            let key = KeyPair::from_pem(&key_pem).map_err(tls_err("CA key"))?;
            let cert_pem = String::from_utf8(read(&cert_path)?).map_err(|_| DaemonError::File {
                path: cert_path.clone(),
                reason: "not a PEM certificate (not UTF-8)".into(),
            })?;
            return Ok(Self { params: Self::ca_params()?, key, cert_pem });
        }
        files::create_dir(dir, Access::Shared)?;
        let ca = Self::generate()?;
        files::write(&cert_path, ca.cert_pem.as_bytes(), Access::Shared)?;
        files::write(
            &key_path,
            Zeroizing::new(ca.key.serialize_pem()).as_bytes(),
            Access::Private,
        )?;
        Ok(ca)
    }

    /// The CA certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues a certificate for `name` valid for each of `sans` (DNS names or IP addresses),
    /// usable as both server and client (every tier is both); returns (cert PEM, key PEM).
    pub fn issue(&self, name: &str, sans: &[&str]) -> Result<(String, Zeroizing<String>)> {
        let sans: Vec<String> = sans.iter().map(|s| (*s).to_string()).collect();
        let mut params = CertificateParams::new(sans).map_err(tls_err("node certificate"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(tls_err("node key"))?;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(tls_err("node certificate"))?;
        Ok((cert.pem(), Zeroizing::new(key.serialize_pem())))
    }

    /// Issues a client-only certificate (extended key usage client authentication, no
    /// subject alternative names) with common name `name`, e.g. a terminal's; returns (cert
    /// PEM, key PEM).
    pub fn issue_client(&self, name: &str) -> Result<(String, Zeroizing<String>)> {
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(tls_err("client certificate"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(tls_err("client key"))?;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(tls_err("client certificate"))?;
        Ok((cert.pem(), Zeroizing::new(key.serialize_pem())))
    }

    /// Issues a certificate for `name` and writes `ca.pem`, `NAME.pem` and `NAME.key` (0600)
    /// into `dir`; returns the files for the node's config.
    pub fn write_node(&self, dir: &Path, name: &str, sans: &[&str]) -> Result<TlsFiles> {
        files::create_dir(dir, Access::Shared)?;
        let files = TlsFiles::in_dir(dir, name);
        let (cert, key) = self.issue(name, sans)?;
        files::write(&files.ca, self.cert_pem.as_bytes(), Access::Shared)?;
        files::write(&files.cert, cert.as_bytes(), Access::Shared)?;
        files::write(&files.key, key.as_bytes(), Access::Private)?;
        Ok(files)
    }
}
