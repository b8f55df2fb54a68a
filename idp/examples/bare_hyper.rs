//! The physical bound of the discovery and JWKS scenarios (`bench/run.sh`, issue 18): a bare
//! hyper server, on the same tokio runtime the IdP uses, answering the IdP's own discovery
//! document and key set as fixed bytes, with the same content type and cache header. Whatever
//! the IdP spends beyond this (routing, middleware, metrics, security headers) is its own.
//!
//! `cargo run --release -p tongyi-idp --example bare_hyper -- PORT DISCOVERY_FILE JWKS_FILE`

use std::{convert::Infallible, net::SocketAddr};

use http_body_util::Full;
use hyper::{
    body::{Bytes, Incoming},
    header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE},
    server::conn::http1,
    service::service_fn,
    Request, Response, StatusCode,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

fn answer(body: &Bytes, max_age: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.clone()));
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(max_age));
    res
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, discovery, jwks] = args.as_slice() else {
        eprintln!("usage: bare_hyper PORT DISCOVERY_FILE JWKS_FILE");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("PORT is a number");
    let discovery = Bytes::from(std::fs::read(discovery)?);
    let jwks = Bytes::from(std::fs::read(jwks)?);
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let (discovery, jwks) = (discovery.clone(), jwks.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let res = match req.uri().path() {
                    "/.well-known/openid-configuration" => {
                        answer(&discovery, "public, max-age=3600")
                    }
                    "/jwks" => answer(&jwks, "public, max-age=300"),
                    _ => {
                        let mut res = Response::new(Full::new(Bytes::new()));
                        *res.status_mut() = StatusCode::NOT_FOUND;
                        res
                    }
                };
                async move { Ok::<_, Infallible>(res) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
