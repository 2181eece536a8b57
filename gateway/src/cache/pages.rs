//! Multi-batch results (Query V2 and Connect `queryv2`) served from the cache
//! under gateway-issued batch ids.
//!
//! Why: an upstream `nextBatchId` expires (three minutes idle, one hour in
//! total), so a cached first batch must never hand one out. On a miss whose
//! first answer says `done:false`, the cache fetches every remaining batch
//! through the caller's `fetch_batch` closure, stores the whole result, and
//! rewrites `nextBatchId` in each page to a gateway id
//! `gwb-<128-bit key hex>-<generation hex>-<page>`; the next-batch `GET` for
//! such an id is answered from the cache. The generation changes whenever the
//! entry is refreshed, so a client paging an old result never gets a page of
//! a newer one.
//!
//! The total bytes fetched are bounded (`max_result_bytes`, overshooting by at
//! most one batch). Past the bound, or when a batch fails, nothing is stored:
//! the pages fetched so far are still served under gateway ids (held in the
//! short-lived cursor cache) and the last of them keeps the upstream
//! `nextBatchId`, so the client continues straight against the upstream —
//! pass-through for the rest, nothing lost, nothing fetched twice.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use super::key::CacheKey;
use super::policy::{storability, QueryEndpoint, Storability};
use super::UpstreamResponse;

const BATCH_ID_PREFIX: &str = "gwb-";

/// A stored query answer: one page, or every batch of a multi-batch result.
#[derive(Debug)]
pub(crate) struct StoredResult {
    /// Page 0: answers the `POST`.
    pub first: Bytes,
    /// The later pages of a multi-batch result; `None` for a single-page
    /// answer, the common case, which then costs no allocation beyond its
    /// bytes and this struct.
    more: Option<Box<MorePages>>,
    /// Lower-case table names the SQL reads (for `purge_table`).
    pub tables: Arc<[String]>,
    /// Distinguishes successive fills of one key in batch ids.
    pub generation: u64,
    /// Weight for moka's byte bound: body bytes plus bookkeeping.
    pub weight: u32,
}

/// Pages after the first, and who may read them by batch id.
#[derive(Debug)]
struct MorePages {
    /// Page `i > 0` (at `i - 1`) answers batch id `…-i`.
    pages: Box<[Bytes]>,
    /// Data space and policy scope of the requests that may read the pages
    /// (a single-page answer has no batch ids, so it needs neither).
    data_space: Box<str>,
    policy_scope: Box<str>,
}

/// Fixed per-entry bookkeeping added to the body bytes by the weigher.
const ENTRY_OVERHEAD: usize = 192;

impl StoredResult {
    pub fn new(
        pages: Vec<Bytes>,
        tables: Arc<[String]>,
        generation: u64,
        data_space: &str,
        policy_scope: &str,
    ) -> Self {
        let bytes: usize = pages.iter().map(Bytes::len).sum::<usize>()
            + tables.iter().map(String::len).sum::<usize>()
            + data_space.len()
            + policy_scope.len()
            + ENTRY_OVERHEAD
            + pages.len() * 32;
        // Copied into exact-size buffers: a body read from the upstream is
        // often a slice of hyper's much larger read buffer, and keeping the
        // slice would keep that whole buffer alive for the entry's lifetime.
        let mut pages = pages.iter().map(|p| Bytes::copy_from_slice(p));
        let first = pages.next().unwrap_or_default();
        let rest: Box<[Bytes]> = pages.collect();
        let more = (!rest.is_empty()).then(|| {
            Box::new(MorePages {
                pages: rest,
                data_space: data_space.into(),
                policy_scope: policy_scope.into(),
            })
        });
        StoredResult {
            first,
            more,
            tables,
            generation,
            weight: u32::try_from(bytes).unwrap_or(u32::MAX),
        }
    }

    /// Page `i ≥ 1` for a batch-id request from `data_space` / `policy_scope`;
    /// `None` when there is no such page or the request is not the owner's.
    pub fn later_page(&self, i: usize, data_space: &str, policy_scope: &str) -> Option<&Bytes> {
        let more = self.more.as_deref()?;
        let same_scope = *more.data_space == *data_space && *more.policy_scope == *policy_scope;
        same_scope
            .then(|| more.pages.get(i.checked_sub(1)?))
            .flatten()
    }

    /// Whether the SQL behind this entry reads `table` (already lower case):
    /// a full dotted name or its last part.
    pub fn reads(&self, table: &str) -> bool {
        self.tables
            .iter()
            .any(|t| t == table || t.rsplit_once('.').is_some_and(|(_, last)| last == table))
    }

    pub fn is_multi_page(&self) -> bool {
        self.more.is_some()
    }
}

/// The gateway batch id of `page` of the result stored under `key`/`generation`.
pub(crate) fn batch_id(key: CacheKey, generation: u64, page: usize) -> String {
    format!("{BATCH_ID_PREFIX}{}-{generation:x}-{page}", key.to_hex())
}

/// Whether `id` has the shape of a gateway batch id (cheap; no lookup).
pub fn is_gateway_batch_id(id: &str) -> bool {
    parse_batch_id(id).is_some()
}

/// Splits a gateway batch id into key, generation and page (≥ 1).
pub(crate) fn parse_batch_id(id: &str) -> Option<(CacheKey, u64, usize)> {
    let rest = id.strip_prefix(BATCH_ID_PREFIX)?;
    let mut parts = rest.split('-');
    let key = CacheKey::from_hex(parts.next()?)?;
    let generation_hex = parts.next()?;
    if generation_hex.is_empty() || generation_hex.len() > 16 {
        return None;
    }
    let generation = u64::from_str_radix(generation_hex, 16).ok()?;
    let page_text = parts.next()?;
    if parts.next().is_some() || page_text.is_empty() || page_text.len() > 9 {
        return None;
    }
    let page: usize = page_text.parse().ok()?;
    (page >= 1).then_some((key, generation, page))
}

/// What `collect_batches` gathered.
pub(crate) struct Collected {
    pub bodies: Vec<Bytes>,
    /// True when the last body says `done:true`; false when fetching stopped
    /// early (size bound or a failed batch): the last body then still carries
    /// a valid upstream `nextBatchId` for the client to follow.
    pub complete: bool,
}

/// Fetches the batches after `first` until `done:true`, the byte bound, or a
/// failure. Failed batches are not kept; their upstream ids stay in the page
/// before them, so the client meets the real error itself.
pub(crate) async fn collect_batches<B, BFut, E>(
    endpoint: QueryEndpoint,
    first: Bytes,
    first_next: String,
    fetch_batch: &B,
    max_bytes: usize,
) -> Collected
where
    B: Fn(String) -> BFut,
    BFut: Future<Output = Result<UpstreamResponse, E>>,
{
    let mut total = first.len();
    let mut bodies = vec![first];
    let mut next = first_next;
    loop {
        if total > max_bytes {
            return Collected {
                bodies,
                complete: false,
            };
        }
        let Ok(resp) = fetch_batch(next.clone()).await else {
            return Collected {
                bodies,
                complete: false,
            };
        };
        match storability(endpoint, resp.status, &resp.headers, &resp.body) {
            Storability::Complete => {
                bodies.push(resp.body);
                return Collected {
                    bodies,
                    complete: true,
                };
            }
            Storability::MoreBatches(id) => {
                total += resp.body.len();
                bodies.push(resp.body);
                next = id;
            }
            Storability::No(_) => {
                return Collected {
                    bodies,
                    complete: false,
                }
            }
        }
    }
}

/// Rewrites `nextBatchId` of every page but the last to the gateway id of the
/// page after it. `None` if a page is not a JSON object (it was checked before,
/// so this only guards against surprises).
pub(crate) fn link_pages(bodies: Vec<Bytes>, key: CacheKey, generation: u64) -> Option<Vec<Bytes>> {
    let last = bodies.len().saturating_sub(1);
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            if i == last {
                Some(body)
            } else {
                rewrite_next_batch_id(&body, &batch_id(key, generation, i + 1))
            }
        })
        .collect()
}

/// Sets `nextBatchId` in a JSON object body; other members are kept.
pub(crate) fn rewrite_next_batch_id(body: &[u8], id: &str) -> Option<Bytes> {
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let map = value.as_object_mut()?;
    map.insert(
        "nextBatchId".to_owned(),
        serde_json::Value::String(id.to_owned()),
    );
    serde_json::to_vec(&value).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, StatusCode};

    #[test]
    fn batch_ids_round_trip_and_reject_lookalikes() {
        let key = CacheKey(0xfeed_beef);
        let id = batch_id(key, 0x2a, 3);
        assert_eq!(parse_batch_id(&id), Some((key, 0x2a, 3)));
        assert!(is_gateway_batch_id(&id));
        assert!(!is_gateway_batch_id("fa489494-ff42-45ce-afd6-b838854b5a99"));
        assert!(!is_gateway_batch_id(&batch_id(key, 1, 0)));
        assert!(!is_gateway_batch_id(&format!("{id}-9")));
        assert!(!is_gateway_batch_id("gwb-xyz-1-1"));
    }

    #[test]
    fn link_pages_rewrites_all_but_last() {
        let bodies = vec![
            Bytes::from_static(br#"{"data":[[1]],"done":false,"nextBatchId":"up1"}"#),
            Bytes::from_static(br#"{"data":[[2]],"done":false,"nextBatchId":"up2"}"#),
            Bytes::from_static(br#"{"data":[[3]],"done":true,"nextBatchId":""}"#),
        ];
        let key = CacheKey(7);
        let linked = link_pages(bodies.clone(), key, 5).expect("json");
        let next = |b: &Bytes| {
            serde_json::from_slice::<serde_json::Value>(b).expect("json")["nextBatchId"]
                .as_str()
                .map(str::to_owned)
        };
        assert_eq!(next(&linked[0]), Some(batch_id(key, 5, 1)));
        assert_eq!(next(&linked[1]), Some(batch_id(key, 5, 2)));
        assert_eq!(linked[2], bodies[2]);
    }

    fn page(n: u32, next: Option<&str>) -> UpstreamResponse {
        let body = match next {
            Some(id) => format!(r#"{{"data":[[{n}]],"done":false,"nextBatchId":"{id}"}}"#),
            None => format!(r#"{{"data":[[{n}]],"done":true}}"#),
        };
        UpstreamResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from(body),
        }
    }

    #[tokio::test]
    async fn collects_until_done_or_bound_or_failure() {
        let fetch = |id: String| async move {
            match id.as_str() {
                "b1" => Ok(page(2, Some("b2"))),
                "b2" => Ok(page(3, None)),
                "bad" => Err("boom"),
                _ => Ok(UpstreamResponse {
                    status: StatusCode::NOT_FOUND,
                    headers: HeaderMap::new(),
                    body: Bytes::new(),
                }),
            }
        };
        let ep = QueryEndpoint::TenantV2;
        let first = page(1, Some("b1")).body;
        let all = collect_batches(ep, first.clone(), "b1".into(), &fetch, 1 << 20).await;
        assert!(all.complete);
        assert_eq!(all.bodies.len(), 3);

        let bound = first.len() + 1;
        let bounded = collect_batches(ep, first.clone(), "b1".into(), &fetch, bound).await;
        assert!(!bounded.complete);
        assert_eq!(bounded.bodies.len(), 2, "overshoots by at most one batch");

        let failed = collect_batches(ep, first.clone(), "bad".into(), &fetch, 1 << 20).await;
        assert!(!failed.complete);
        assert_eq!(failed.bodies.len(), 1);
        let expired = collect_batches(ep, first, "gone".into(), &fetch, 1 << 20).await;
        assert!(!expired.complete);
        assert_eq!(expired.bodies.len(), 1);
    }
}
