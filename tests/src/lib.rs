//! Cross-app test crate; the tests live in tests/.
