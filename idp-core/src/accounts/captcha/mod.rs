//! Image captchas (图形验证码): a short answer from an alphabet without look-alike characters,
//! drawn as a distorted PNG, kept in the short-lived store and good for one check.
//!
//! | key | value | expiry |
//! |---|---|---|
//! | `captcha:{id}` | the answer, upper case | 300 s |
//!
//! The id is public (it is in the page and the image URL); the answer never leaves the server
//! except as the picture. Checking consumes the challenge whether the answer was right or
//! wrong, so every guess costs a new picture. The picture of one challenge is drawn the same
//! way on every request (its randomness is derived from the id and the answer).

mod font;
mod picture;
mod png;

use sha2::{Digest, Sha256};

use crate::{crypto, store::ephemeral::Ephemeral};

pub use picture::{HEIGHT, WIDTH};

/// The characters of answers: digits and capitals without 0/O, 1/I/L and Q (too close to O).
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPRSTUVWXYZ";
/// Characters per answer.
pub const LENGTH: usize = 5;
/// How long a challenge can be answered.
pub const TTL_SECS: i64 = 300;

/// Random bytes of a challenge id (22 characters of URL-safe base64).
const ID_BYTES: usize = 16;

fn key(id: &str) -> String {
    format!("captcha:{id}")
}

/// Whether `id` has the shape of an id [`issue`] hands out; anything else is not looked up.
pub fn is_valid_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A fresh random answer, each character uniform over [`ALPHABET`].
pub fn random_answer() -> String {
    let n = ALPHABET.len();
    // Bytes at or above the largest multiple of the alphabet size are redrawn: no bias.
    let limit = (256 / n * n) as u8;
    let mut answer = String::with_capacity(LENGTH);
    while answer.len() < LENGTH {
        let mut buf = [0u8; 16];
        openssl::rand::rand_bytes(&mut buf).expect("the OS random source failed");
        for b in buf {
            if b < limit && answer.len() < LENGTH {
                answer.push(ALPHABET[b as usize % n] as char);
            }
        }
    }
    answer
}

/// Creates a challenge and returns its id, to be put in the form and the image URL.
pub async fn issue(store: &Ephemeral) -> Result<String, redis::RedisError> {
    let id = crypto::random_token(ID_BYTES);
    store.put(&key(&id), &random_answer(), TTL_SECS).await?;
    Ok(id)
}

/// The PNG of a live challenge; `None` when the id is unknown, used or expired.
pub async fn image(store: &Ephemeral, id: &str) -> Result<Option<Vec<u8>>, redis::RedisError> {
    if !is_valid_id(id) {
        return Ok(None);
    }
    Ok(store
        .get(&key(id))
        .await?
        .map(|answer| picture::render(&answer, seed(id, &answer))))
}

/// The answer of a live challenge without using it up, for the test aid
/// `dev.captcha_answers` only (`web::dev_captcha`).
pub async fn peek_answer(store: &Ephemeral, id: &str) -> Result<Option<String>, redis::RedisError> {
    if !is_valid_id(id) {
        return Ok(None);
    }
    store.get(&key(id)).await
}

/// Checks an answer (letter case and surrounding spaces do not matter) and consumes the
/// challenge, right or wrong. An unknown, used or expired id is a wrong answer.
pub async fn verify(store: &Ephemeral, id: &str, answer: &str) -> Result<bool, redis::RedisError> {
    if !is_valid_id(id) {
        return Ok(false);
    }
    let Some(expected) = store.take(&key(id)).await? else {
        return Ok(false);
    };
    let given = answer.trim().to_ascii_uppercase();
    Ok(crypto::constant_time_eq(
        given.as_bytes(),
        expected.as_bytes(),
    ))
}

/// A captcha answer as a form carries it: the challenge id and what the person typed.
#[derive(Clone, Copy, Debug)]
pub struct CaptchaAnswer<'a> {
    pub id: &'a str,
    pub answer: &'a str,
}

/// Why a required captcha did not pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptchaRefusal {
    /// No answer was given (no challenge named, or nothing typed).
    Missing,
    /// The answer was wrong, or the challenge unknown, used or expired.
    Wrong,
}

/// Checks a captcha that the caller's rule requires. A challenge that is named is used up
/// even when nothing was typed, as by [`verify`].
pub async fn check_required(
    store: &Ephemeral,
    given: Option<CaptchaAnswer<'_>>,
) -> Result<Result<(), CaptchaRefusal>, redis::RedisError> {
    let Some(given) = given else {
        return Ok(Err(CaptchaRefusal::Missing));
    };
    Ok(if verify(store, given.id, given.answer).await? {
        Ok(())
    } else if given.answer.trim().is_empty() {
        Err(CaptchaRefusal::Missing)
    } else {
        Err(CaptchaRefusal::Wrong)
    })
}

/// The drawing's randomness: unpredictable without the answer, the same for one challenge.
fn seed(id: &str, answer: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(b"tongyi captcha picture\0")
        .chain_update(id.as_bytes())
        .chain_update([0])
        .chain_update(answer.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_has_no_look_alikes() {
        for c in b"0O1IlLQ" {
            assert!(!ALPHABET.contains(c), "{} is in the alphabet", *c as char);
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len(), "no repeated characters");
        assert!(ALPHABET
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    }

    #[test]
    fn answers_use_the_alphabet_and_vary() {
        let answers: Vec<String> = (0..200).map(|_| random_answer()).collect();
        for a in &answers {
            assert_eq!(a.len(), LENGTH);
            assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        }
        let mut distinct = answers.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 190, "answers repeat too often");
        // Every character of the alphabet turns up in 1000 characters.
        let seen: std::collections::HashSet<u8> = answers.iter().flat_map(|a| a.bytes()).collect();
        assert_eq!(seen.len(), ALPHABET.len());
    }

    #[tokio::test]
    async fn a_challenge_is_checked_once_without_regard_to_case() {
        let store = Ephemeral::memory();
        let id = issue(&store).await.unwrap();
        assert!(is_valid_id(&id));
        let answer = store.get(&key(&id)).await.unwrap().unwrap();
        assert_eq!(answer, answer.to_ascii_uppercase());

        let png = image(&store, &id).await.unwrap().unwrap();
        assert_eq!(&png[..8], &png::SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), WIDTH);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), HEIGHT);
        assert_eq!(
            image(&store, &id).await.unwrap().unwrap(),
            png,
            "one picture per challenge"
        );

        let typed = format!(" {} ", answer.to_ascii_lowercase());
        assert!(
            verify(&store, &id, &typed).await.unwrap(),
            "case-insensitive"
        );
        assert!(!verify(&store, &id, &answer).await.unwrap(), "single use");
        assert!(
            image(&store, &id).await.unwrap().is_none(),
            "gone once used"
        );
    }

    #[tokio::test]
    async fn a_wrong_answer_also_uses_the_challenge_up() {
        let store = Ephemeral::memory();
        let id = issue(&store).await.unwrap();
        let answer = store.get(&key(&id)).await.unwrap().unwrap();
        assert!(!verify(&store, &id, "").await.unwrap());
        assert!(
            !verify(&store, &id, &answer).await.unwrap(),
            "no second try"
        );

        let id = issue(&store).await.unwrap();
        let answer = store.get(&key(&id)).await.unwrap().unwrap();
        let wrong: String = answer
            .bytes()
            .map(|c| if c == b'2' { '3' } else { '2' })
            .collect();
        assert!(!verify(&store, &id, &wrong).await.unwrap());
        assert!(!verify(&store, "unknown", &answer).await.unwrap());
        assert!(!verify(&store, "../../etc", "x").await.unwrap());
    }

    #[tokio::test]
    async fn a_required_captcha_tells_missing_from_wrong() {
        let store = Ephemeral::memory();
        assert_eq!(
            check_required(&store, None).await.unwrap(),
            Err(CaptchaRefusal::Missing)
        );

        let id = issue(&store).await.unwrap();
        let blank = CaptchaAnswer {
            id: &id,
            answer: " ",
        };
        assert_eq!(
            check_required(&store, Some(blank)).await.unwrap(),
            Err(CaptchaRefusal::Missing)
        );
        assert!(image(&store, &id).await.unwrap().is_none(), "used up");

        let id = issue(&store).await.unwrap();
        let answer = store.get(&key(&id)).await.unwrap().unwrap();
        let typo: String = answer
            .bytes()
            .map(|c| if c == b'2' { '3' } else { '2' })
            .collect();
        let wrong = CaptchaAnswer {
            id: &id,
            answer: &typo,
        };
        assert_eq!(
            check_required(&store, Some(wrong)).await.unwrap(),
            Err(CaptchaRefusal::Wrong)
        );

        let id = issue(&store).await.unwrap();
        let answer = store.get(&key(&id)).await.unwrap().unwrap();
        let right = CaptchaAnswer {
            id: &id,
            answer: &answer,
        };
        assert_eq!(check_required(&store, Some(right)).await.unwrap(), Ok(()));
    }
}
