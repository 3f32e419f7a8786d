//! HTTPS: a self-signed certificate for `localhost` and `127.0.0.1`, made at start
//! (feature `tls`). Without the feature, [`Tls`] has no value and the fake serves plain HTTP.

#[cfg(feature = "tls")]
mod imp {
    use std::io;
    use std::sync::Arc;

    use tokio::net::TcpStream;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::{self, ServerConfig};
    use tokio_rustls::server::TlsStream;
    use tokio_rustls::{TlsAcceptor, rustls::crypto::aws_lc_rs};

    /// The TLS side of the server: its acceptor.
    #[derive(Clone)]
    pub struct Tls(TlsAcceptor);

    impl Tls {
        /// A fresh self-signed certificate and the acceptor that presents it; returns the
        /// certificate as PEM too, for clients to trust.
        pub fn generate() -> io::Result<(Tls, String)> {
            let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
            let mut params = rcgen::CertificateParams::new(names).map_err(io::Error::other)?;
            // A name of its own: OpenSSL finds a self-signed root by its subject, and two
            // fakes' certificates trusted at once under rcgen's one default name would
            // each be checked against whichever it finds first.
            params.distinguished_name.push(
                rcgen::DnType::CommonName,
                format!("rescale-fake {}", crate::util::random_key()),
            );
            let signing_key = rcgen::KeyPair::generate().map_err(io::Error::other)?;
            let cert = params.self_signed(&signing_key).map_err(io::Error::other)?;
            let pem = cert.pem();
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
            let provider = Arc::new(aws_lc_rs::default_provider());
            let config = ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(io::Error::other)?
                .with_no_client_auth()
                .with_single_cert(vec![cert.der().clone()], key)
                .map_err(|e: rustls::Error| io::Error::other(e))?;
            Ok((Tls(TlsAcceptor::from(Arc::new(config))), pem))
        }

        /// The server side of the handshake.
        pub async fn accept(&self, stream: TcpStream) -> io::Result<TlsStream<TcpStream>> {
            self.0.accept(stream).await
        }
    }
}

#[cfg(not(feature = "tls"))]
mod imp {
    use tokio::net::TcpStream;

    /// No TLS without the `tls` feature: this type has no value.
    #[derive(Clone)]
    pub enum Tls {}

    impl Tls {
        /// Never called: there is no `Tls` to call it on.
        pub async fn accept(&self, _stream: TcpStream) -> std::io::Result<TcpStream> {
            match *self {}
        }
    }
}

pub use imp::Tls;
