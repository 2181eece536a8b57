//! Statistical aggregates SQLite lacks: `stddev`/`stddev_samp`/`stddev_pop`
//! and `variance`/`var_samp`/`var_pop`, with Welford's running algorithm.
//! NULLs are skipped; too few values give NULL, as in PostgreSQL.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

/// Running count, mean and sum of squared deviations.
#[derive(Default)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

/// One of the six aggregates.
struct Spread {
    /// Divide by n (population) instead of n - 1 (sample).
    population: bool,
    /// Take the square root (standard deviation) of the variance.
    root: bool,
}

impl Aggregate<Moments, Value> for Spread {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<Moments> {
        Ok(Moments::default())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Moments) -> rusqlite::Result<()> {
        let x = match ctx.get_raw(0) {
            ValueRef::Integer(i) => i as f64,
            ValueRef::Real(f) => f,
            ValueRef::Null => return Ok(()),
            ValueRef::Text(t) => match std::str::from_utf8(t)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                Some(f) => f,
                None => {
                    return Err(rusqlite::Error::UserFunctionError(
                        "stddev/variance need numeric input".into(),
                    ))
                }
            },
            ValueRef::Blob(_) => {
                return Err(rusqlite::Error::UserFunctionError(
                    "stddev/variance need numeric input".into(),
                ))
            }
        };
        acc.n += 1;
        let delta = x - acc.mean;
        acc.mean += delta / acc.n as f64;
        acc.m2 += delta * (x - acc.mean);
        Ok(())
    }

    fn finalize(&self, _ctx: &mut Context<'_>, acc: Option<Moments>) -> rusqlite::Result<Value> {
        let Some(m) = acc else { return Ok(Value::Null) };
        let denominator = if self.population {
            m.n
        } else {
            m.n.saturating_sub(1)
        };
        if denominator == 0 {
            return Ok(Value::Null);
        }
        let variance = m.m2 / denominator as f64;
        Ok(Value::Real(if self.root {
            variance.sqrt()
        } else {
            variance
        }))
    }
}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    for (name, population, root) in [
        ("stddev", false, true),
        ("stddev_samp", false, true),
        ("stddev_pop", true, true),
        ("variance", false, false),
        ("var_samp", false, false),
        ("var_pop", true, false),
    ] {
        conn.create_aggregate_function(name, 1, flags, Spread { population, root })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    #[test]
    fn sample_and_population() {
        let conn = Connection::open_in_memory().unwrap();
        super::register(&conn).unwrap();
        let q = |sql: &str| {
            conn.query_row(sql, [], |r| r.get::<_, Option<f64>>(0))
                .unwrap()
        };
        let values = "(SELECT 2 AS x UNION ALL SELECT 4 UNION ALL SELECT 4 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 5 UNION ALL SELECT 7 UNION ALL SELECT 9 UNION ALL SELECT NULL)";
        assert_eq!(q(&format!("SELECT stddev_pop(x) FROM {values}")), Some(2.0));
        assert_eq!(q(&format!("SELECT var_pop(x) FROM {values}")), Some(4.0));
        let sample = q(&format!("SELECT variance(x) FROM {values}")).unwrap();
        assert!((sample - 32.0 / 7.0).abs() < 1e-12);
        assert_eq!(q("SELECT stddev(x) FROM (SELECT 1 AS x)"), None);
        assert_eq!(q("SELECT stddev(x) FROM (SELECT 1 AS x) WHERE x > 1"), None);
    }
}
