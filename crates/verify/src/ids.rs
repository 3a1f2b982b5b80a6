//! Where certify IDs and request IDs come from: 16 bytes per call from an
//! [`IdGenerator`] the embedding service supplies (randomness comes in through this
//! trait; the library has none of its own). `&self`, so every worker draws IDs
//! without exclusive access to anything.

use std::sync::atomic::{AtomicU64, Ordering};

/// A source of 16-byte IDs, never repeated. Production services back it with a CSPRNG
/// (certify IDs must not be guessable).
pub trait IdGenerator {
    /// 16 fresh bytes.
    fn next_id(&self) -> [u8; 16];
}

/// Deterministic IDs (a counter, mixed so consecutive IDs do not look alike) for tests
/// and demos. Not unpredictable: production services supply random IDs.
#[derive(Debug, Default)]
pub struct CounterIds {
    next: AtomicU64,
}

impl CounterIds {
    /// IDs continuing after the `n`th (a restored demo continues where it stopped).
    pub fn starting_after(n: u64) -> CounterIds {
        CounterIds { next: AtomicU64::new(n) }
    }
}

impl IdGenerator for CounterIds {
    fn next_id(&self) -> [u8; 16] {
        let n = self.next.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        // Two different bijections of the counter (SplitMix64's finaliser): unique,
        // and consecutive IDs share no visible pattern.
        let mix = |mut z: u64| {
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut id = [0u8; 16];
        let (high, low) = id.split_at_mut(8);
        high.copy_from_slice(&mix(n.wrapping_add(0x9E37_79B9_7F4A_7C15)).to_be_bytes());
        low.copy_from_slice(&mix(n ^ 0xD1B5_4A32_D192_ED03).to_be_bytes());
        id
    }
}

/// A request ID in the cloud's shape: 36 characters, upper-case hex in 8-4-4-4-12.
pub fn request_id(ids: &(impl IdGenerator + ?Sized)) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut id = String::with_capacity(36);
    for (i, b) in ids.next_id().iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0')));
        id.push(char::from(HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0')));
    }
    id
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn counter_ids_are_unique_across_threads() {
        let ids = CounterIds::default();
        let seen: Vec<[u8; 16]> = std::thread::scope(|s| {
            let workers: Vec<_> =
                (0..2).map(|_| s.spawn(|| (0..1000).map(|_| ids.next_id()).collect::<Vec<_>>())).collect();
            workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
        });
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 2000);
    }

    #[test]
    fn request_ids_have_the_cloud_shape() {
        let id = request_id(&CounterIds::default());
        assert_eq!(id.len(), 36);
        assert_eq!(id.split('-').map(str::len).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    }
}
