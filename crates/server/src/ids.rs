//! Certify IDs and request IDs from the operating system's CSPRNG (through `rand`'s
//! thread-local generator, reseeded from it): unguessable, and unique across
//! processes and restarts, which a counter would not be.

use shiren_verify::IdGenerator;

/// Random 16-byte IDs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RandomIds;

impl IdGenerator for RandomIds {
    fn next_id(&self) -> [u8; 16] {
        rand::random()
    }
}
