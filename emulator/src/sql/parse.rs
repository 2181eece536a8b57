//! Parsing: one statement, PostgreSQL dialect (Data Cloud's Hyper is
//! PostgreSQL-flavoured), under a recursion limit so deeply nested input
//! becomes an error instead of a stack overflow.
//!
//! Also decides "more than one statement" here, because only the parser knows
//! where the first statement ends.

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use super::{SqlError, SqlErrorKind};

/// Nesting depth the parser accepts. Every later stage (resolution,
/// translation, rendering) recurses over the same tree, so this bounds them
/// all; 64 levels fit comfortably in a 2 MiB thread stack in debug builds.
pub(crate) const RECURSION_LIMIT: usize = 64;

/// Most operators and parentheses a statement may have. Every later stage
/// walks the tree recursively and an operator chain (`a OR b OR …`) nests one
/// level per operator, so this bounds their depth; SQLite itself refuses
/// expressions deeper than 1000.
pub(crate) const MAX_WEIGHT: usize = 1000;

/// Statement keywords that can only write or administer. When the parser
/// cannot read such a statement (SQLite's `PRAGMA` forms, say) the answer is
/// still "not read-only", not a syntax error.
const WRITE_KEYWORDS: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "UPSERT",
    "REPLACE",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "ATTACH",
    "DETACH",
    "PRAGMA",
    "VACUUM",
    "REINDEX",
    "ANALYZE",
    "COPY",
    "SET",
    "RESET",
    "GRANT",
    "REVOKE",
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "LOCK",
    "CALL",
    "DO",
    "COMMENT",
    "CLUSTER",
    "REFRESH",
    "DISCARD",
    "LOAD",
    "UNLOAD",
    "PUT",
    "REMOVE",
    "USE",
    "DECLARE",
    "FETCH",
    "CLOSE",
    "PREPARE",
    "EXECUTE",
    "DEALLOCATE",
    "LISTEN",
    "NOTIFY",
    "UNLISTEN",
    "IMPORT",
    "EXPORT",
    "INSTALL",
];

/// How deep the statement's tree can be: its operators, operator keywords
/// and opening brackets (a cheap upper bound from the tokens, computed
/// without recursion). Too heavy a statement is refused.
pub(crate) fn weight(sql: &str) -> Result<usize, SqlError> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|e| syntax_error(ParserError::TokenizerError(e.to_string()), sql))?;
    let weight = tokens
        .iter()
        .filter(|t| match t {
            Token::Word(w) => matches!(
                w.keyword,
                Keyword::AND
                    | Keyword::OR
                    | Keyword::NOT
                    | Keyword::IS
                    | Keyword::LIKE
                    | Keyword::ILIKE
                    | Keyword::SIMILAR
                    | Keyword::BETWEEN
                    | Keyword::IN
                    | Keyword::AT
                    | Keyword::COLLATE
                    | Keyword::SELECT
                    | Keyword::CASE
            ),
            Token::Whitespace(_)
            | Token::Number(_, _)
            | Token::SingleQuotedString(_)
            | Token::Comma
            | Token::Period
            | Token::SemiColon
            | Token::RParen
            | Token::RBracket
            | Token::EOF => false,
            _ => true,
        })
        .count();
    if weight > MAX_WEIGHT {
        return Err(SqlError::new(
            SqlErrorKind::Syntax,
            format!(
                "The statement is too complex: more than {MAX_WEIGHT} operators and parentheses"
            ),
        ));
    }
    Ok(weight)
}

/// Parses exactly one statement.
pub(crate) fn parse(sql: &str) -> Result<Statement, SqlError> {
    let dialect = PostgreSqlDialect {};
    let first = match parse_first(&dialect, sql) {
        Ok(first) => first,
        Err(e) => return Err(refusal_for(sql).unwrap_or_else(|| syntax_error(e, sql))),
    };
    match first {
        (statement, false) => Ok(statement),
        (statement, true) => {
            // Name a writing first statement before complaining about the count.
            super::check::refuse_writes(&statement)?;
            Err(SqlError::new(
                SqlErrorKind::NotReadOnly,
                "Only one statement is allowed per query; found more than one",
            ))
        }
    }
}

/// The first statement, and whether anything but `;` follows it.
fn parse_first(dialect: &PostgreSqlDialect, sql: &str) -> Result<(Statement, bool), ParserError> {
    let mut parser = Parser::new(dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)?;
    if parser.peek_token().token == Token::EOF {
        return Err(ParserError::ParserError(
            "Empty query: expected a SELECT statement".into(),
        ));
    }
    let statement = parser.parse_statement()?;
    while parser.consume_token(&Token::SemiColon) {}
    let more = parser.peek_token().token != Token::EOF;
    Ok((statement, more))
}

fn syntax_error(e: ParserError, sql: &str) -> SqlError {
    let message = match e {
        ParserError::RecursionLimitExceeded => {
            format!("Syntax error: the query nests too deeply (more than {RECURSION_LIMIT} levels)")
        }
        ParserError::TokenizerError(m) | ParserError::ParserError(m) if m.contains("Line: ") => {
            format!("Syntax error: {m}")
        }
        // sqlparser gives no position for the end of the text: add it.
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => {
            let line = sql.split('\n').count().max(1);
            let column = sql.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("Syntax error: {m} at end of input (Line: {line}, Column: {column})")
        }
    };
    SqlError::new(SqlErrorKind::Syntax, message)
}

/// A not-read-only refusal when the statement starts with a writing keyword.
fn refusal_for(sql: &str) -> Option<SqlError> {
    let word = first_word(sql)?.to_ascii_uppercase();
    WRITE_KEYWORDS.contains(&word.as_str()).then(|| {
        SqlError::new(
            SqlErrorKind::NotReadOnly,
            super::check::refusal_message(&word),
        )
    })
}

/// The first word of `sql`, skipping blanks, comments and opening parentheses.
fn first_word(sql: &str) -> Option<&str> {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(sql: &str) -> SqlErrorKind {
        parse(sql).unwrap_err().kind
    }

    #[test]
    fn one_select_parses() {
        assert!(parse("SELECT 1").is_ok());
        assert!(parse("SELECT 1;").is_ok());
        assert!(parse("  -- hi\n SELECT 1 ;; ").is_ok());
    }

    #[test]
    fn syntax_errors_carry_the_position() {
        let e = parse("SELECT *\nFROM t WHERE (\n)").unwrap_err();
        assert_eq!(e.kind, SqlErrorKind::Syntax);
        assert!(
            e.message.contains("found: ) at Line: 3, Column: 1"),
            "{}",
            e.message
        );
        let e = parse("SELECT *\nFROM t WHERE").unwrap_err();
        assert!(
            e.message.contains("end of input (Line: 2, Column: 13)"),
            "{}",
            e.message
        );
        assert_eq!(kind(""), SqlErrorKind::Syntax);
        assert_eq!(kind("SELECT 'unterminated"), SqlErrorKind::Syntax);
    }

    #[test]
    fn second_statement_is_refused() {
        let e = parse("SELECT 1; SELECT 2").unwrap_err();
        assert_eq!(e.kind, SqlErrorKind::NotReadOnly);
        assert!(e.message.contains("one statement"));
        let e = parse("DELETE FROM t; SELECT 1").unwrap_err();
        assert!(e.message.contains("DELETE"), "{}", e.message);
    }

    #[test]
    fn unparsable_writes_are_refusals() {
        assert_eq!(kind("/* x */ VACUUM INTO 'f'"), SqlErrorKind::NotReadOnly);
        assert_eq!(kind("REINDEX"), SqlErrorKind::NotReadOnly);
        assert_eq!(first_word("  ((select"), Some("select"));
        assert_eq!(first_word("--only a comment"), None);
    }

    #[test]
    fn weight_counts_operators_and_brackets() {
        assert_eq!(
            weight("SELECT a FROM t WHERE b = 'x' AND c IN (1, 2)").unwrap(),
            5
        );
        let long = format!("SELECT {}", vec!["1"; 2000].join(" + "));
        assert_eq!(parse_weight_kind(&long), SqlErrorKind::Syntax);
    }

    fn parse_weight_kind(sql: &str) -> SqlErrorKind {
        weight(sql).unwrap_err().kind
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let sql = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        let e = parse(&sql).unwrap_err();
        assert_eq!(e.kind, SqlErrorKind::Syntax);
        assert!(e.message.contains("nests too deeply"), "{}", e.message);
    }
}
