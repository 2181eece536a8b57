//! The OAuth facade routes as the pipeline runs them: method check, bounded
//! body read, parameters from the query string and a form body, then
//! `auth/facade.rs`.

use std::collections::HashMap;

use http::{header, HeaderMap, Method, Request, Response};
use hyper::body::Incoming;

use super::context::Context;
use super::error::ProxyError;
use super::route::Route;
use super::{read_limited, Proxy};
use crate::body::Body;

/// Largest body accepted by the OAuth facade endpoints.
const MAX_OAUTH_BODY: usize = 64 * 1024;

impl Proxy {
    /// The OAuth facade endpoints.
    pub(super) async fn facade_route(
        &self,
        ctx: &mut Context,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, ProxyError> {
        let allowed = match ctx.route {
            Route::Revoke => matches!(*req.method(), Method::POST | Method::GET),
            _ => req.method() == Method::POST,
        };
        if !allowed {
            return Err(ProxyError::MethodNotAllowed);
        }
        let (parts, body) = req.into_parts();
        let body = read_limited(body, MAX_OAUTH_BODY, self.body_timeout).await?;
        let params = oauth_params(parts.uri.query(), &parts.headers, &body);
        ctx.client = params.get("client_id").map(|c| c.as_str().into());
        match ctx.route {
            Route::OAuthToken => self.facade.token(&params, &self.tokens).await,
            Route::A360Token => self.facade.exchange(&params, &self.tokens).await,
            _ => self.facade.revoke(&params),
        }
    }
}

/// OAuth parameters: the query string merged with a form body (the body
/// wins); `salesforce-cdp-connector` sends everything in the query string.
fn oauth_params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        params
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned());
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if !body.is_empty() && !is_json {
        for (k, v) in form_urlencoded::parse(body) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_params_merge_query_and_form() {
        let h = HeaderMap::new();
        let p = oauth_params(Some("a=1&b=2"), &h, b"b=3&c=4");
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "3");
        assert_eq!(p["c"], "4");
    }
}
