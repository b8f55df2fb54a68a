//! Writes DPoP proofs (RFC 9449) for the `cc_dpop_es256` benchmark scenario: one ES256 key,
//! as a client holds, and COUNT proofs for `POST HTU`, each with its own `jti` and the
//! current time as `iat`, one per line. A proof is good once (the IdP keeps a replay cache),
//! so wrk cannot replay one request body; `bench/dpop.lua` sends each line once instead.
//!
//! `cargo run --release -p tongyi-idp --example dpop_proofs -- HTU COUNT OUT_FILE`

use std::{
    io::{BufWriter, Write},
    time::{SystemTime, UNIX_EPOCH},
};

use josekit::{
    jwk::alg::ec::{EcCurve, EcKeyPair},
    jws::{JwsHeader, ES256},
    jwt::{self, JwtPayload},
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(htu), Some(count), Some(out)) = (
        args.get(1),
        args.get(2).and_then(|c| c.parse::<usize>().ok()),
        args.get(3),
    ) else {
        eprintln!("usage: dpop_proofs HTU COUNT OUT_FILE");
        std::process::exit(2);
    };
    let key = EcKeyPair::generate(EcCurve::P256).expect("an ES256 key");
    let signer = ES256
        .signer_from_jwk(&key.to_jwk_private_key())
        .expect("a signer");
    let mut header = JwsHeader::new();
    header.set_token_type("dpop+jwt");
    header.set_jwk(key.to_jwk_public_key());
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let file = std::fs::File::create(out).unwrap_or_else(|e| {
        eprintln!("dpop_proofs: {out}: {e}");
        std::process::exit(1);
    });
    let mut w = BufWriter::new(file);
    for i in 0..count {
        let mut payload = JwtPayload::new();
        payload.set_jwt_id(format!("bench-{iat}-{i}"));
        let claims = [
            ("htm", "POST".into()),
            ("htu", htu.as_str().into()),
            ("iat", iat.into()),
        ];
        for (name, value) in claims {
            payload.set_claim(name, Some(value)).expect("a claim");
        }
        let proof = jwt::encode_with_signer(&payload, &header, &signer).expect("a proof");
        writeln!(w, "{proof}").expect("writing the proofs");
    }
    w.flush().expect("writing the proofs");
}
