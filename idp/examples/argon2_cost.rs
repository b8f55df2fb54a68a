//! Prints what one argon2id verification costs with the configured parameters: the bound on
//! password logins per second per core that `bench/run.sh` compares the login scenario with.
//! It verifies the way the server does, in a reused work area (`password::WorkAreas`), so the
//! bound does not include page faults the server does not pay either.
//!
//! `cargo run --release -p tongyi-idp --example argon2_cost [-- config/idp.toml]`

use std::time::Instant;

use tongyi_idp::{accounts::password, config::Config};

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "config/idp.toml".into());
    let config = match Config::load(std::path::Path::new(&path)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("argon2_cost: {e}");
            std::process::exit(2);
        }
    };
    let cfg = &config.login;
    let hash = match password::hash_blocking("Bench#Password2026", cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("argon2_cost: {e}");
            std::process::exit(1);
        }
    };
    // One warm-up (which allocates the work area), then the median of 15 verifications.
    let areas = password::WorkAreas::default();
    password::verify_with(&areas, "Bench#Password2026", &hash);
    let mut times: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            assert!(password::verify_with(&areas, "Bench#Password2026", &hash));
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    println!(
        "argon2id m={} KiB t={} p={}: {median:.1} ms per verification, bound {:.1} logins/s per core",
        cfg.argon2_m_kib,
        cfg.argon2_t,
        cfg.argon2_p,
        1000.0 / median
    );
}
