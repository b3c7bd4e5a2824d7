//! Authorization of a mutual-TLS client by name: the CA vouches for a certificate, and the
//! certificate's names say who it is (`dcs-regional` for a region's nodes, `store-N` for
//! store N, as the development CA issues them). A service checks the name its caller must
//! have, so that a store's certificate cannot call a region's Raft service or speak for
//! another store.

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, ServerName};

/// The client certificates of a request (None on a plaintext connection).
pub type PeerCerts = Option<Arc<Vec<CertificateDer<'static>>>>;

/// Ok when the client's certificate is valid for `name`, or when the connection is
/// plaintext (tests on 127.0.0.1 only: the daemons refuse plaintext unless told so).
///
/// # Errors
/// `PERMISSION_DENIED` naming who the caller must be.
pub fn require(certs: &PeerCerts, name: &str) -> Result<(), tonic::Status> {
    let Some(certs) = certs else { return Ok(()) };
    let denied = || {
        tonic::Status::permission_denied(format!(
            "the client certificate is not {name:?}'s: this call is for {name} only"
        ))
    };
    let server_name = ServerName::try_from(name).map_err(|_| denied())?;
    let leaf = certs.first().ok_or_else(denied)?;
    let cert = webpki::EndEntityCert::try_from(leaf).map_err(|_| denied())?;
    cert.verify_is_valid_for_subject_name(&server_name).map_err(|_| denied())
}
