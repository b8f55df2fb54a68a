//! Every app's answers carry the security headers and a request id, unknown URLs and wrong
//! methods included (one layer stack around each app's whole router).

use crate::harness::Platform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_apps_404_and_405_carry_the_security_headers() {
    let platform = Platform::start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for base in [&platform.idp, &platform.portal, &platform.incubator] {
        for (method, path, status) in [
            (reqwest::Method::GET, "/no-such-page", 404),
            (reqwest::Method::DELETE, "/healthz", 405),
        ] {
            let res = http
                .request(method.clone(), format!("{base}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), status, "{method} {base}{path}");
            let h = res.headers();
            assert_eq!(h["x-content-type-options"], "nosniff", "{base}{path}");
            assert_eq!(h["x-frame-options"], "DENY", "{base}{path}");
            assert!(h.contains_key("content-security-policy"), "{base}{path}");
            assert_eq!(h["x-request-id"].len(), 36, "{base}{path}");
        }
    }
}
