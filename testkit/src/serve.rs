//! Apps served on 127.0.0.1 with a port the OS picks, stopped when the test lets go.

use std::future::Future;

use tokio::{net::TcpListener, sync::oneshot};

/// A listener on 127.0.0.1, port 0, and its base URL (`http://127.0.0.1:{port}`). Bind first
/// when apps must know each other's addresses before they are built.
pub async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    (listener, format!("http://{addr}"))
}

/// Stops a served app (graceful shutdown) when dropped.
#[derive(Debug)]
pub struct Stop(#[allow(dead_code)] oneshot::Sender<()>);

/// A [`Stop`] and the shutdown future it completes: for apps that serve themselves and take a
/// shutdown signal (the IdP's `App::serve`).
pub fn stop_signal() -> (Stop, impl Future<Output = ()> + Send + 'static) {
    let (tx, rx) = oneshot::channel::<()>();
    // Dropping the sender ends the wait as well as sending would.
    (Stop(tx), async move {
        let _ = rx.await;
    })
}

/// Serves `router` on `listener` until the returned [`Stop`] is dropped.
pub fn serve(listener: TcpListener, router: axum::Router) -> Stop {
    let (stop, shutdown) = stop_signal();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    });
    stop
}

/// Serves `router` on `listener` with each connection's peer address (`ConnectInfo`), as the
/// apps' own `serve` does, until the returned [`Stop`] is dropped: for tests of what the apps
/// make of the client's address.
pub fn serve_with_peer_addr(listener: TcpListener, router: axum::Router) -> Stop {
    let (stop, shutdown) = stop_signal();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    });
    stop
}

/// An app served on a port of its own.
#[derive(Debug)]
pub struct Served {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    _stop: Stop,
}

impl Served {
    /// `path` (starting with `/`) at this app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Serves `router` on a fresh port until the returned [`Served`] is dropped.
pub async fn serve_router(router: axum::Router) -> Served {
    let (listener, base) = listen().await;
    Served {
        base,
        _stop: serve(listener, router),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_until_dropped() {
        let app = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
        let served = serve_router(app).await;
        let body = reqwest::get(served.url("/ping"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "pong");
        let url = served.url("/ping");
        drop(served);
        // Graceful shutdown lets the accept loop end soon after.
        let mut refused = false;
        for _ in 0..50 {
            if reqwest::get(&url).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(refused, "still serving after the stop");
    }
}
