//! The listening socket and graceful shutdown.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::HttpSettings;

/// A bound listener, ready to serve a router.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl HttpServer {
    /// Binds `host:port` (port 0 picks a free port) and logs the bound address.
    ///
    /// # Errors
    /// When the host does not resolve or the address cannot be bound.
    pub async fn bind(settings: &HttpSettings) -> io::Result<Self> {
        let listener = TcpListener::bind((settings.host.as_str(), settings.port)).await?;
        let local_addr = listener.local_addr()?;
        tracing::info!(address = %local_addr, "http server listening");
        Ok(Self { listener, local_addr })
    }

    /// The address actually bound.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then stops accepting and drains
    /// in-flight requests for at most `drain_timeout`.
    ///
    /// Returns `Ok(true)` when every connection finished, `Ok(false)` when the
    /// timeout cut the drain short; the requests still running then are left
    /// to end with the runtime.
    ///
    /// # Errors
    /// The I/O error that stopped the server.
    pub async fn serve(
        self,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
        drain_timeout: Duration,
    ) -> io::Result<bool> {
        let listener = self.listener.tap_io(|tcp| {
            // Responses are written whole; Nagle would only delay them.
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "could not set TCP_NODELAY");
            }
        });
        let (fired_tx, fired_rx) = oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            // The receiver is gone only once serving has already ended.
            let _ = fired_tx.send(());
        };
        let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(signal)
            .into_future();
        tokio::pin!(server);

        tokio::select! {
            result = &mut server => return result.map(|()| true),
            _ = fired_rx => {}
        }
        tracing::info!(drain_timeout = ?drain_timeout, "shutting down: draining in-flight requests");
        match tokio::time::timeout(drain_timeout, server).await {
            Ok(result) => {
                result?;
                tracing::info!("http server stopped; all requests drained");
                Ok(true)
            }
            Err(_) => {
                tracing::warn!("http server stopped; drain timeout cut in-flight requests short");
                Ok(false)
            }
        }
    }
}
