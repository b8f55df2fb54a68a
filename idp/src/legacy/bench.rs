//! The import benchmark's data: generated person rows with every outcome the person file can
//! give (kept login names, repeated ones that become `HJ_`, records without a login), and the
//! process's peak memory.

use super::hashes::{make, HashScheme, SaltPosition};

/// A person CSV of `rows` rows. Every 50th row reuses the login name of the row two before
/// (outcome 3) and
/// every 20th has no login (a record for 老用户绑定). Hashes are salted MD5.
pub fn generate(rows: usize) -> String {
    let mut out = Vec::with_capacity(rows * 120);
    write_rows(rows, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("the rows are UTF-8")
}

/// Writes the CSV of [`generate`] row by row, without holding it (a million rows are about
/// 90 MB).
pub fn write_rows(rows: usize, out: &mut impl std::io::Write) -> std::io::Result<()> {
    out.write_all(
        b"legacy_id,user_type,login_name,password_hash,password_salt,name,mobile,subsystems\n",
    )?;
    let hash = make::salted_hex(
        HashScheme::Md5,
        SaltPosition::Suffix,
        "Bench#Pass2019",
        "s4lt",
    );
    for i in 0..rows {
        let user_type = if i % 7 == 0 { "expert" } else { "declarant" };
        let mobile = format!("13{:09}", i);
        let login = if i % 20 == 0 {
            String::new()
        } else if i % 50 == 1 && i > 1 {
            format!("bench_user_{:07}", i - 2)
        } else {
            format!("bench_user_{i:07}")
        };
        let (h, s) = if login.is_empty() {
            ("", "")
        } else {
            (hash.as_str(), "s4lt")
        };
        writeln!(
            out,
            "b{i:07},{user_type},{login},{h},{s},测试用户{i},{mobile},gaoqi"
        )?;
    }
    Ok(())
}

/// The peak resident memory of this process (Linux `VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
