//! The lookahead's delay line: what the host sent, held back until the
//! sequencer plays it, `latency` samples later.
//!
//! With lookahead on, the sequencer plays everything (input notes, the
//! pass-through, the grid and its restarts) `latency` samples after the host
//! sent it, and tells the host so; the host plays the output that much
//! earlier, and the harmony of a step is decided knowing the melody up to
//! `latency` samples after it. Two queues hold the waiting input events and
//! the grid's changes (a restart at a seek, a loop wrap, a new tempo), each
//! with the absolute sample it is due. With no lookahead everything is due
//! the moment it arrives, so the sequencer plays exactly as without a delay.
//!
//! The queues are fixed-size rings made once, off the audio thread: pushing
//! never allocates. A full queue hands back its oldest entry for the caller
//! to play at once (early, never lost), so no note is left hanging.

use super::block::InputEvent;
use super::clock::Clock;

/// Input events held at most (at 1 bar of 4/4 at 30 bpm, 8 s: a very busy player).
pub const INPUT_CAPACITY: usize = 4096;
/// Grid changes held at most (a tempo ramp bends the grid every block).
pub const CLOCK_CAPACITY: usize = 1024;

/// A change of the grid, due at an absolute sample.
#[derive(Clone, Copy, Debug)]
pub enum ClockChange {
    /// A new tempo from here; the steps go on.
    Bend(Clock),
    /// A jump, start, stop or loop wrap: every note ends, the music restarts.
    Restart(Clock),
}

/// A fixed-capacity FIFO of `(due sample, item)`.
#[derive(Clone, Debug)]
pub struct Queue<T: Copy> {
    slots: Box<[Option<(i64, T)>]>,
    head: usize,
    len: usize,
}

impl<T: Copy> Queue<T> {
    /// Allocates the ring (not on the audio thread).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            slots: vec![None; capacity.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `item` due at `due`. When full, the oldest entry is taken out
    /// and returned, for the caller to play now.
    pub fn push(&mut self, due: i64, item: T) -> Option<(i64, T)> {
        let evicted = if self.len == self.slots.len() {
            self.pop()
        } else {
            None
        };
        let at = (self.head + self.len) % self.slots.len();
        self.slots[at] = Some((due, item));
        self.len += 1;
        evicted
    }

    /// The oldest entry.
    pub fn front(&self) -> Option<(i64, T)> {
        if self.len == 0 {
            None
        } else {
            self.slots[self.head]
        }
    }

    pub fn pop(&mut self) -> Option<(i64, T)> {
        let item = self.front()?;
        self.slots[self.head] = None;
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        Some(item)
    }

    /// Entries oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (i64, T)> + '_ {
        (0..self.len).filter_map(move |i| self.slots[(self.head + i) % self.slots.len()])
    }

    pub fn clear(&mut self) {
        while self.pop().is_some() {}
    }
}

/// The two queues of the delay line.
#[derive(Clone, Debug)]
pub struct Delay {
    pub input: Queue<InputEvent>,
    pub clock: Queue<ClockChange>,
}

impl Default for Delay {
    fn default() -> Self {
        Self {
            input: Queue::with_capacity(INPUT_CAPACITY),
            clock: Queue::with_capacity(CLOCK_CAPACITY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_hands_back_its_oldest() {
        let mut q: Queue<u32> = Queue::with_capacity(3);
        assert_eq!(q.push(1, 10), None);
        assert_eq!(q.push(2, 20), None);
        assert_eq!(q.push(3, 30), None);
        assert_eq!(q.push(4, 40), Some((1, 10)));
        assert_eq!(
            q.iter().collect::<Vec<_>>(),
            vec![(2, 20), (3, 30), (4, 40)]
        );
        assert_eq!(q.pop(), Some((2, 20)));
        assert_eq!(q.front(), Some((3, 30)));
        q.clear();
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }
}
