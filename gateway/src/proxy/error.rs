//! Every error the gateway answers, typed by source (downstream client,
//! upstream Salesforce, or the gateway itself) and turned into an HTTP
//! response in exactly one place, [`ProxyError::into_response`], in the
//! Salesforce shape of the route: tenant object for `/api`, core array for
//! `/services/data`, OAuth object for the token endpoints.
//!
//! Clients get the public message; internal causes are logged, not echoed.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use super::route::Shape;
use super::upstream::UpstreamError;
use crate::auth::{TokenError, TokenFailure};
use crate::body::Body;
use crate::policy::Denied;

/// Who caused an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Downstream,
    Upstream,
    Internal,
}

/// A failed request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    /// No or unknown client credentials.
    #[error("unknown client: {0}")]
    Unauthenticated(&'static str),
    /// The client's policy refuses the request.
    #[error("forbidden: {0}")]
    Forbidden(Denied),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// OAuth facade errors (`invalid_grant`, …).
    #[error("{error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// Rate limited by the gateway.
    #[error("too many requests")]
    TooManyRequests { retry_after: Option<Duration> },
    /// The gateway could not get an upstream token.
    #[error("{0}")]
    Token(TokenError),
    /// The upstream could not be reached or did not answer in time.
    #[error("{0}")]
    Upstream(UpstreamError),
    /// Refused by a component before anything went upstream, with the
    /// component's own tenant-shaped JSON body (ingestion limits).
    #[error("refused ({status}): {message}")]
    Refused {
        status: StatusCode,
        message: String,
        body: Bytes,
    },
    /// A bug or resource problem inside the gateway (cause is logged).
    #[error("internal: {0}")]
    Internal(String),
}

impl ProxyError {
    pub fn source(&self) -> Source {
        match self {
            ProxyError::Token(_) | ProxyError::Upstream(_) => Source::Upstream,
            ProxyError::Internal(_) => Source::Internal,
            _ => Source::Downstream,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ProxyError::Forbidden(_) => StatusCode::FORBIDDEN,
            ProxyError::NotFound => StatusCode::NOT_FOUND,
            ProxyError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProxyError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::OAuth { status, .. } | ProxyError::Refused { status, .. } => *status,
            ProxyError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::Token(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Upstream(UpstreamError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message the client sees.
    fn public_message(&self) -> String {
        match self {
            ProxyError::Unauthenticated(m) => format!("Unknown client: {m}"),
            ProxyError::Forbidden(d) => format!("Forbidden: {d}"),
            ProxyError::NotFound => "Not Found".to_owned(),
            ProxyError::MethodNotAllowed => "Method Not Allowed".to_owned(),
            ProxyError::BodyTooLarge(n) => format!("Request body exceeds {n} bytes"),
            ProxyError::BadRequest(m) => m.clone(),
            ProxyError::OAuth { description, .. } => description.clone(),
            ProxyError::Refused { message, .. } => message.clone(),
            ProxyError::TooManyRequests { .. } => "Too many requests".to_owned(),
            ProxyError::Token(e) => format!("Gateway could not authenticate upstream: {e}"),
            ProxyError::Upstream(e) => format!("Upstream unavailable: {e}"),
            ProxyError::Internal(_) => "Internal Server Error".to_owned(),
        }
    }

    /// Core-host `errorCode`.
    fn core_code(&self) -> &'static str {
        match self {
            ProxyError::Unauthenticated(_) => "INVALID_SESSION_ID",
            ProxyError::Forbidden(_) => "INSUFFICIENT_ACCESS",
            ProxyError::NotFound => "NOT_FOUND",
            ProxyError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ProxyError::BodyTooLarge(_) => "REQUEST_TOO_LARGE",
            ProxyError::BadRequest(_) | ProxyError::OAuth { .. } | ProxyError::Refused { .. } => {
                "INVALID_INPUT"
            }
            ProxyError::TooManyRequests { .. } => "REQUEST_LIMIT_EXCEEDED",
            ProxyError::Token(_) => "GATEWAY_UPSTREAM_AUTH_FAILED",
            ProxyError::Upstream(_) => "GATEWAY_UPSTREAM_UNAVAILABLE",
            ProxyError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The step, `error` and `error_description` of a token failure.
    fn token_details(&self) -> Option<Value> {
        let ProxyError::Token(e) = self else {
            return None;
        };
        let mut d = json!({"step": e.step});
        match &e.failure {
            TokenFailure::Rejected {
                status,
                error,
                description,
            } => {
                d["upstreamStatus"] = json!(status);
                d["error"] = json!(error);
                d["error_description"] = json!(description);
            }
            other => d["error_description"] = json!(other.to_string()),
        }
        Some(d)
    }

    /// The one place an error becomes a response.
    pub fn into_response(self, shape: Shape, request_id: &HeaderValue) -> Response<Body> {
        let status = self.status();
        match self.source() {
            Source::Internal => tracing::error!(error = %self, "internal error"),
            Source::Upstream => tracing::warn!(error = %self, "upstream error"),
            Source::Downstream => tracing::debug!(error = %self, "request refused"),
        }
        if let (ProxyError::Refused { body, .. }, Shape::Tenant) = (&self, shape) {
            let mut resp = Response::new(Body::full(body.clone()));
            *resp.status_mut() = status;
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=UTF-8"),
            );
            resp.headers_mut()
                .insert(super::context::X_REQUEST_ID, request_id.clone());
            return resp;
        }
        let message = self.public_message();
        let body = match shape {
            Shape::Tenant => {
                let mut b = json!({
                    "timestamp": dc_emulator::clock::format_spring(time::OffsetDateTime::now_utc()),
                    "error": tenant_error_name(status),
                    "message": message,
                    "internalErrorCode": "GATEWAY_ERROR",
                });
                if let Some(d) = self.token_details() {
                    b["details"] = d;
                }
                b
            }
            Shape::Core => {
                let mut item = json!({"errorCode": self.core_code(), "message": message});
                if let Some(d) = self.token_details() {
                    item["details"] = d;
                }
                json!([item])
            }
            Shape::OAuth => {
                let error = match &self {
                    ProxyError::OAuth { error, .. } => (*error).to_owned(),
                    ProxyError::Token(TokenError {
                        failure: TokenFailure::Rejected { error, .. },
                        ..
                    }) => error.clone(),
                    ProxyError::Unauthenticated(_) => "invalid_client".to_owned(),
                    ProxyError::NotFound | ProxyError::MethodNotAllowed => {
                        "invalid_request".to_owned()
                    }
                    ProxyError::TooManyRequests { .. } => "temporarily_unavailable".to_owned(),
                    _ => "server_error".to_owned(),
                };
                let mut b = json!({"error": error, "error_description": message});
                if let Some(ProxyError::Token(e)) = Some(&self) {
                    b["step"] = json!(e.step);
                }
                b
            }
        };
        let mut resp = json_response(status, &body);
        let headers = resp.headers_mut();
        if shape == Shape::OAuth {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let ProxyError::TooManyRequests {
            retry_after: Some(d),
        } = &self
        {
            if let Ok(v) = HeaderValue::try_from(d.as_secs().max(1).to_string()) {
                headers.insert(header::RETRY_AFTER, v);
            }
        }
        headers.insert(super::context::X_REQUEST_ID, request_id.clone());
        resp
    }
}

impl crate::retry::Retryable for ProxyError {
    fn outcome(&self) -> crate::retry::Outcome<'_> {
        use crate::retry::Outcome;
        match self {
            ProxyError::Upstream(UpstreamError::Connect(_)) => Outcome::ConnectFailed,
            ProxyError::Upstream(UpstreamError::Timeout(_)) => Outcome::TimedOut,
            _ => Outcome::Failed,
        }
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Body::full(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp
}

/// The tenant shape's `error` text for a status.
fn tenant_error_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        429 => "Too many requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_json(resp: Response<Body>) -> Value {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn token_errors_name_the_step_in_every_shape() {
        let id = HeaderValue::from_static("rid");
        let err = || {
            ProxyError::Token(TokenError::new(
                "a360_exchange",
                TokenFailure::Rejected {
                    status: 400,
                    error: "invalid_grant".into(),
                    description: "invalid subject token".into(),
                },
            ))
        };
        let t = err().into_response(Shape::Tenant, &id);
        assert_eq!(t.status(), StatusCode::BAD_GATEWAY);
        let j = body_json(t).await;
        assert_eq!(j["details"]["step"], "a360_exchange");
        assert_eq!(j["details"]["error_description"], "invalid subject token");
        assert!(j["message"].as_str().unwrap().contains("a360_exchange"));

        let j = body_json(err().into_response(Shape::Core, &id)).await;
        assert_eq!(j[0]["errorCode"], "GATEWAY_UPSTREAM_AUTH_FAILED");
        assert_eq!(j[0]["details"]["step"], "a360_exchange");

        let j = body_json(err().into_response(Shape::OAuth, &id)).await;
        assert_eq!(j["error"], "invalid_grant");
        assert_eq!(j["step"], "a360_exchange");
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let id = HeaderValue::from_static("rid");
        let r = ProxyError::Internal("secret detail".into()).into_response(Shape::Tenant, &id);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let j = body_json(r).await;
        assert_eq!(j["message"], "Internal Server Error");
    }
}
