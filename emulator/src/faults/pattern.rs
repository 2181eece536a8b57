//! Path patterns of the test-control API: `*` matches any run of characters
//! (slashes included), `?` exactly one, everything else itself. Shared by
//! fault rules (`"/api/v2/query*"`) and the journal's `path` filter.

/// Whether `pattern` contains a wildcard (otherwise the journal treats it as
/// a prefix).
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Whether `text` matches the whole of `pattern`.
///
/// The classic two-pointer walk with one backtrack point: linear in practice,
/// and never recursive, so a hostile pattern cannot blow the stack.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    // Position after the last `*` seen, and where in `text` it started matching.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) && p[pi] != b'*' {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi + 1, ti));
            pi += 1;
        } else if let Some((after_star, matched_from)) = star {
            // Let the last `*` swallow one more character and retry.
            pi = after_star;
            ti = matched_from + 1;
            star = Some((after_star, matched_from + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(glob_match("/api/v2/query*", "/api/v2/query"));
        assert!(glob_match("/api/v2/query*", "/api/v2/query/abc"));
        assert!(!glob_match("/api/v2/query*", "/api/v1/query"));
        assert!(glob_match("*", "/anything/at/all"));
        assert!(glob_match(
            "/services/data/*/ssot/query-sql",
            "/services/data/v64.0/ssot/query-sql"
        ));
        assert!(glob_match("/api/v?/query", "/api/v1/query"));
        assert!(!glob_match("/api/v?/query", "/api/v10/query"));
        assert!(glob_match("*a*b*c", "xxaxxbxxc"));
        assert!(!glob_match("*a*b*c", "xxaxxbxx"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "/x"));
        assert!(is_glob("/a*") && !is_glob("/api/v2"));
    }
}
