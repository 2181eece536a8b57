//! Issued core access tokens, refresh tokens and Data Cloud tokens.

use crate::clock::Clock;

/// Token bookkeeping.
pub struct TokenStore {
    #[allow(dead_code)]
    clock: Clock,
}

impl TokenStore {
    pub fn new(clock: Clock) -> Self {
        TokenStore { clock }
    }
}
