//! What arrived at the fake API, per room: which numbered messages were answered, how many
//! more than once (sent, then the bot was killed before it marked them done), and whether any
//! first arrival came after a later message of its room.

use std::collections::HashMap;

/// The replies seen so far.
#[derive(Debug, Default)]
pub(crate) struct Arrivals {
    rooms: HashMap<u64, Room>,
    /// Replies that are not "flood <room>-<n>".
    pub(crate) foreign: u64,
}

#[derive(Debug, Default)]
struct Room {
    /// `seen[n]`: message n of this room was answered.
    seen: Vec<bool>,
    /// The highest n answered so far.
    highest: Option<u64>,
    again: u64,
    out_of_order: u64,
}

/// The text of message `n` to `room`; the echo bot answers with the same text.
pub(crate) fn text(room: u64, n: u64) -> String {
    format!("flood {room}-{n}")
}

fn parse(text: &str) -> Option<(u64, u64)> {
    let (room, n) = text.strip_prefix("flood ")?.split_once('-')?;
    Some((room.parse().ok()?, n.parse().ok()?))
}

impl Arrivals {
    /// Counts one reply that reached the room.
    pub(crate) fn record(&mut self, reply: &str) {
        let Some((room, n)) = parse(reply) else {
            self.foreign += 1;
            return;
        };
        let room = self.rooms.entry(room).or_default();
        let index = usize::try_from(n).unwrap_or(usize::MAX);
        if room.seen.len() <= index {
            room.seen.resize(index.saturating_add(1), false);
        }
        if room.seen[index] {
            room.again += 1;
            return;
        }
        room.seen[index] = true;
        if room.highest.is_some_and(|highest| n < highest) {
            room.out_of_order += 1;
        }
        room.highest = room.highest.max(Some(n));
    }

    /// Whether message `n` of `room` was answered.
    pub(crate) fn answered(&self, room: u64, n: u64) -> bool {
        let index = usize::try_from(n).unwrap_or(usize::MAX);
        self.rooms
            .get(&room)
            .and_then(|r| r.seen.get(index))
            .copied()
            .unwrap_or(false)
    }

    /// Distinct messages answered.
    pub(crate) fn distinct(&self) -> u64 {
        self.rooms
            .values()
            .map(|r| r.seen.iter().filter(|s| **s).count() as u64)
            .sum()
    }

    /// Replies that repeated one already answered.
    pub(crate) fn again(&self) -> u64 {
        self.rooms.values().map(|r| r.again).sum()
    }

    /// First arrivals that came after a later message of the same room.
    pub(crate) fn out_of_order(&self) -> u64 {
        self.rooms.values().map(|r| r.out_of_order).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_repeats_and_late_first_arrivals_per_room() {
        let mut arrivals = Arrivals::default();
        for reply in [
            text(1, 0),
            text(2, 0),
            text(1, 1),
            text(1, 1), // resent after a kill: a repeat, not disorder
            text(1, 3),
            text(1, 2), // first seen after 3: out of order
            text(2, 1),
            "Welcome!".to_owned(),
        ] {
            arrivals.record(&reply);
        }
        assert_eq!(arrivals.distinct(), 6);
        assert_eq!(arrivals.again(), 1);
        assert_eq!(arrivals.out_of_order(), 1);
        assert_eq!(arrivals.foreign, 1);
        assert!(arrivals.answered(1, 3));
        assert!(!arrivals.answered(2, 2));
        assert!(!arrivals.answered(9, 0));
    }

    #[test]
    fn only_its_own_texts_parse() {
        assert_eq!(parse(&text(12, 345)), Some((12, 345)));
        for other in ["flood", "flood x-1", "flood 1-", "flood 1_2", "load 1-2"] {
            assert_eq!(parse(other), None, "{other}");
        }
    }
}
