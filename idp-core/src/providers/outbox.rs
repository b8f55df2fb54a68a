//! The ring buffer behind the development outboxes (SMS and email): the newest messages first,
//! the oldest dropped once `capacity` are held. Shared by the clones of a provider.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

#[derive(Debug)]
pub struct Ring<T> {
    entries: Arc<Mutex<VecDeque<T>>>,
    capacity: usize,
}

// By hand: a clone shares the buffer, whatever `T` is.
impl<T> Clone for Ring<T> {
    fn clone(&self) -> Self {
        Ring {
            entries: self.entries.clone(),
            capacity: self.capacity,
        }
    }
}

impl<T: Clone> Ring<T> {
    pub fn new(capacity: usize) -> Ring<T> {
        let capacity = capacity.max(1);
        Ring {
            entries: Arc::new(Mutex::new(VecDeque::with_capacity(capacity))),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<T>> {
        // Entries are pushed whole; a panic elsewhere cannot leave one half-written.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, entry: T) {
        let mut entries = self.lock();
        while entries.len() >= self.capacity {
            entries.pop_back();
        }
        entries.push_front(entry);
    }

    /// Every entry, newest first.
    pub fn all(&self) -> Vec<T> {
        self.lock().iter().cloned().collect()
    }

    /// The newest entry that `matches`.
    pub fn newest(&self, matches: impl Fn(&T) -> bool) -> Option<T> {
        self.lock().iter().find(|e| matches(e)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn keeps_the_newest_and_clones_share() {
        let ring = Ring::new(2);
        let other = ring.clone();
        for n in 1..=3 {
            other.push(n);
        }
        assert_eq!(ring.all(), [3, 2]);
        assert_eq!(ring.newest(|n| n % 2 == 0), Some(2));
        assert_eq!(ring.newest(|n| *n == 1), None);
    }
}
