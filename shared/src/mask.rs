//! Masking of personal data for display (SPEC §3: "shown masked (e.g. `******271X`,
//! `13*****656`)").
//!
//! The masks have a fixed width, so the masked form reveals neither the length of the value nor
//! the parts that are hidden. All functions count characters, not bytes, trim surrounding
//! whitespace first, and return an empty string for an empty input. Values too short to show
//! the visible parts without giving most of them away are masked entirely.

/// The mask for document numbers and bank accounts.
const LONG_MASK: &str = "******";
/// The mask in the middle of a mobile number.
const MOBILE_MASK: &str = "*****";

fn last_chars(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    let skip = count.saturating_sub(n);
    s.char_indices().nth(skip).map_or("", |(i, _)| &s[i..])
}

fn first_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// An ID document number: six `*` and the last four characters, as in the SPEC's
/// `******271X` (`"12010119900307271X"` → `"******271X"`). Numbers shorter than 8 characters
/// become `"******"`.
pub fn mask_id_number(number: &str) -> String {
    mask_keep_last4(number.trim())
}

/// A mobile number: the first two and last three digits around five `*`, as in the SPEC's
/// `13*****656` (`"13812345656"` → `"13*****656"`). Values shorter than 7 characters become
/// `"*****"`.
pub fn mask_mobile(mobile: &str) -> String {
    let s = mobile.trim();
    if s.is_empty() {
        return String::new();
    }
    if s.chars().count() < 7 {
        return MOBILE_MASK.to_owned();
    }
    format!("{}{MOBILE_MASK}{}", first_chars(s, 2), last_chars(s, 3))
}

/// A bank account number: like [`mask_id_number`], six `*` and the last four digits; spaces
/// inside the number are ignored (`"6222 0212 3456 7890"` → `"******7890"`).
pub fn mask_bank_account(account: &str) -> String {
    let compact: String = account.chars().filter(|c| !c.is_whitespace()).collect();
    mask_keep_last4(&compact)
}

/// An email masked for pages, logs and records: the first character of the local part and the
/// domain, `a***@example.com`; something that is not an address is masked as a name.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_name(email),
    }
}

/// A person's name: the first character, then one `*` for each other character
/// (`"张三丰"` → `"张**"`, `"张三"` → `"张*"`). A one-character name becomes `"*"`.
pub fn mask_name(name: &str) -> String {
    let s = name.trim();
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let rest = chars.count();
    if rest == 0 {
        return "*".to_owned();
    }
    let mut out = String::with_capacity(first.len_utf8() + rest);
    out.push(first);
    out.extend(std::iter::repeat_n('*', rest));
    out
}

fn mask_keep_last4(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    if s.chars().count() < 8 {
        return LONG_MASK.to_owned();
    }
    format!("{LONG_MASK}{}", last_chars(s, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers() {
        assert_eq!(mask_id_number("12010119900307271X"), "******271X");
        assert_eq!(mask_id_number(" E12345678 "), "******5678");
        assert_eq!(mask_id_number("南字第1234567号"), "******567号");
        assert_eq!(mask_id_number("1234567"), "******");
        assert_eq!(mask_id_number(""), "");
    }

    #[test]
    fn mobiles() {
        assert_eq!(mask_mobile("13812345656"), "13*****656");
        assert_eq!(mask_mobile("1381234"), "13*****234");
        assert_eq!(mask_mobile("138123"), "*****");
        assert_eq!(mask_mobile(""), "");
    }

    #[test]
    fn bank_accounts() {
        assert_eq!(mask_bank_account("6222 0212 3456 7890"), "******7890");
        assert_eq!(mask_bank_account("6222021234567890123"), "******0123");
        assert_eq!(mask_bank_account("123"), "******");
        assert_eq!(mask_bank_account("   "), "");
    }

    #[test]
    fn names() {
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name(" John Smith "), "J*********");
        assert_eq!(mask_name(""), "");
    }
}
