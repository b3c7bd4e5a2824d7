//! Mutual TLS between the tiers: every node holds a certificate issued by the deployment's CA
//! and accepts only peers whose certificate that CA issued.
//!
//! [`TlsFiles`] names the three PEM files of a node (the CA certificate, its own certificate
//! and its private key) and turns them into tonic's rustls server and client configurations.
//! [`DevCa`] is a development CA for one machine or a test: it writes a CA and issues node
//! certificates for given DNS names and IP addresses, so that a newcomer needs no openssl.
//! Private keys are written with mode 0600 and zeroized in memory after use.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};
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

/// Writes `contents` to `path` readable by its owner only.
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
