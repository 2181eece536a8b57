//! Query result cursors: the batches behind `nextBatchId` and query-sql ids.

/// Open cursors.
#[derive(Default)]
pub struct Cursors {}
