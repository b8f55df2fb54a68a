//! Property tests for all parsers: no input panics, generated valid values parse, and a
//! single changed character in a checksummed number is always caught.

use proptest::prelude::*;

use super::*;
use crate::mask;

const ID_CHARS: &[u8] = b"0123456789X";
const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

/// Any string, weighted towards the characters the parsers care about.
fn input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9xX]{0,20}",
        "[0-9A-Za-z_ +\\-]{0,24}",
        "[0-9A-Z\u{FF10}-\u{FF5A}\u{3000}长期有效南字第号()（）.\\-/]{0,20}",
    ]
}

/// The first 17 digits of a plausible resident ID number: province, 4 digits, birth date
/// (1900–2099, day ≤ 28 so every month works), 3 digits.
fn resident_prefix() -> impl Strategy<Value = String> {
    (
        prop::sample::select(PROVINCES),
        0u32..10_000,
        1900u32..2100,
        1u32..=12,
        1u32..=28,
        0u32..1000,
    )
        .prop_map(|(p, r, y, m, d, s)| format!("{p:02}{r:04}{y:04}{m:02}{d:02}{s:03}"))
}

fn valid_resident_id() -> impl Strategy<Value = String> {
    resident_prefix().prop_map(|p| {
        let c = gb11643::check_char(p.as_bytes()).expect("17 digits");
        format!("{p}{}", c as char)
    })
}

fn valid_uscc() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&b"123456789ANY"[..]),
        prop::sample::select(USCC_CHARS),
        "[0-9]{6}",
        prop::collection::vec(prop::sample::select(USCC_CHARS), 9),
    )
        .prop_map(|(a, t, div, org)| {
            let mut p = vec![a, t];
            p.extend_from_slice(div.as_bytes());
            p.extend(org);
            let c = uscc::check_char(&p).expect("17 charset characters");
            p.push(c);
            String::from_utf8(p).expect("ASCII")
        })
}

/// Replace the character at `pos` by `alphabet[pick % len]`, or by the next one if that is the
/// same character, so the result always differs.
fn change_one(s: &str, pos: usize, pick: usize, alphabet: &[u8]) -> String {
    let mut b = s.as_bytes().to_vec();
    let pos = pos % b.len();
    let mut c = alphabet[pick % alphabet.len()];
    if c == b[pos] {
        c = alphabet[(pick + 1) % alphabet.len()];
    }
    b[pos] = c;
    String::from_utf8(b).expect("ASCII")
}

proptest! {
    #[test]
    fn no_parser_panics(s in input(), t in input()) {
        let today = Date::new(2025, 6, 1).expect("date");
        let _ = LoginName::parse(&s);
        let _ = check_new_password(&s, &t, Some(&t));
        let _ = check_new_password(&s, &s, None);
        let _ = ResidentId::parse(&s);
        let _ = ResidentId::parse_as_of(&s, today);
        let _ = Uscc::parse(&s);
        let _ = Mobile::parse(&s);
        let _ = Date::parse(&s);
        for kind in IdDocumentType::ALL {
            if let Ok(doc) = IdDocument::parse(kind, &s) {
                let _ = doc.masked_number();
                let _ = doc.resident_id();
            }
        }
        let _ = IdDocument::parse_chinese_passport(&s);
        let _ = IdValidity::parse_resident_card(&s, &t, today);
        let _ = IdValidity::parse_range(&s, &t, today);
        let _ = mask::mask_id_number(&s);
        let _ = mask::mask_mobile(&s);
        let _ = mask::mask_bank_account(&s);
        let _ = mask::mask_name(&s);
    }

    #[test]
    fn accepted_values_are_normalised(s in input()) {
        // Whatever a parser accepts, it returns trimmed, and parsing its output again gives the
        // same value.
        if let Ok(v) = ResidentId::parse(&s) {
            prop_assert_eq!(ResidentId::parse(v.as_str()), Ok(v.clone()));
            prop_assert!(v.as_str().bytes().all(|b| ID_CHARS.contains(&b)));
        }
        if let Ok(v) = Uscc::parse(&s) {
            prop_assert_eq!(Uscc::parse(v.as_str()), Ok(v.clone()));
        }
        if let Ok(v) = Mobile::parse(&s) {
            prop_assert_eq!(v.as_str().len(), 11);
            prop_assert_eq!(Mobile::parse(v.as_str()), Ok(v.clone()));
        }
        if let Ok(v) = LoginName::parse(&s) {
            prop_assert_eq!(LoginName::parse(v.as_str()), Ok(v.clone()));
        }
        for kind in IdDocumentType::ALL {
            if let Ok(v) = IdDocument::parse(kind, &s) {
                prop_assert_eq!(v.number().trim(), v.number());
                prop_assert_eq!(IdDocument::parse(kind, v.number()), Ok(v.clone()));
            }
        }
    }

    #[test]
    fn generated_resident_ids_parse(id in valid_resident_id()) {
        let parsed = ResidentId::parse(&id);
        prop_assert!(parsed.is_ok(), "{} {:?}", id, parsed);
        let parsed = parsed.expect("checked");
        prop_assert_eq!(parsed.birth_date().to_string().replace('-', ""), &id[6..14]);
        let odd = (id.as_bytes()[16] - b'0') % 2 == 1;
        prop_assert_eq!(parsed.gender() == Gender::Male, odd);
        // Lower-case check character and surrounding space are accepted.
        prop_assert_eq!(ResidentId::parse(&format!(" {} ", id.to_lowercase())), Ok(parsed));
    }

    #[test]
    fn one_changed_character_breaks_a_resident_id(
        id in valid_resident_id(), pos in 0usize..18, pick in 0usize..11,
    ) {
        let changed = change_one(&id, pos, pick, ID_CHARS);
        prop_assert!(ResidentId::parse(&changed).is_err(), "{} -> {}", id, changed);
    }

    #[test]
    fn foreign_permanent_resident_cards(
        tail in "[0-9]{2}[0-9]{3}(19[0-9]{2}|20[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
        pos in 0usize..18, pick in 0usize..11,
    ) {
        let prefix = format!("9{tail}");
        let c = gb11643::check_char(prefix.as_bytes()).expect("17 digits");
        let number = format!("{prefix}{}", c as char);
        let kind = IdDocumentType::ForeignPermanentResidentCard;
        prop_assert!(IdDocument::parse(kind, &number).is_ok(), "{}", number);
        let changed = change_one(&number, pos, pick, ID_CHARS);
        prop_assert!(IdDocument::parse(kind, &changed).is_err(), "{} -> {}", number, changed);
    }

    #[test]
    fn generated_usccs_parse(code in valid_uscc()) {
        let parsed = Uscc::parse(&code.to_lowercase());
        prop_assert!(parsed.is_ok(), "{} {:?}", code, parsed);
        prop_assert_eq!(parsed.map(String::from), Ok(code));
    }

    #[test]
    fn one_changed_character_breaks_a_uscc(
        code in valid_uscc(), pos in 0usize..18, pick in 0usize..31,
    ) {
        let changed = change_one(&code, pos, pick, USCC_CHARS);
        prop_assert!(Uscc::parse(&changed).is_err(), "{} -> {}", code, changed);
    }

    #[test]
    fn generated_mobiles_parse(m in "1[3-9][0-9]{9}", prefix in prop::sample::select(&["", "+86", "86", "0086", "+86 "][..])) {
        let parsed = Mobile::parse(&format!("{prefix}{m}"));
        prop_assert_eq!(parsed.map(String::from), Ok(m.clone()));
        prop_assert_eq!(mask::mask_mobile(&m), format!("{}*****{}", &m[..2], &m[8..]));
    }

    #[test]
    fn generated_login_names_parse(name in "[A-Za-z][A-Za-z0-9_]{3,29}") {
        let parsed = LoginName::parse(&name).expect("valid");
        prop_assert_eq!(parsed.key(), name.to_ascii_lowercase());
    }

    #[test]
    fn accepted_passwords_meet_the_policy(pw in "[ -~]{6,22}") {
        if check_new_password(&pw, &pw, None).is_ok() {
            prop_assert!((8..=20).contains(&pw.len()));
            prop_assert!(!pw.contains(' '));
            let classes = [
                pw.chars().any(|c| c.is_ascii_uppercase()),
                pw.chars().any(|c| c.is_ascii_lowercase()),
                pw.chars().any(|c| c.is_ascii_digit()),
                pw.chars().any(|c| !c.is_ascii_alphanumeric()),
            ];
            prop_assert!(classes.iter().filter(|c| **c).count() >= 3);
            prop_assert!(check_new_password(&pw, &pw, Some(&pw.to_lowercase())).is_err());
        }
    }

    #[test]
    fn masks_show_at_most_four_trailing_characters(s in "[0-9A-Z]{8,30}") {
        let masked = mask::mask_id_number(&s);
        prop_assert_eq!(masked.len(), 10);
        prop_assert!(s.ends_with(&masked[6..]));
        prop_assert_eq!(mask::mask_bank_account(&s), masked);
    }
}
