//! The filter language's lexer and recursive-descent parser: text in, an [`Expr`] tree out.

use super::{Expr, MAX_DEPTH, MAX_LEN, Op};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Comma,
    Op(Op),
    Word(String),
    Quoted(String),
}

pub(super) fn err(msg: impl Into<String>) -> Error {
    Error::invalid("filter", msg.into())
}

fn lex(input: &str) -> Result<Vec<(usize, Token)>> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                out.push((
                    at,
                    if c == '(' {
                        Token::Open
                    } else if c == ')' {
                        Token::Close
                    } else {
                        Token::Comma
                    },
                ));
            }
            '=' | '~' => {
                chars.next();
                out.push((at, Token::Op(if c == '=' { Op::Eq } else { Op::Contains })));
            }
            '!' | '<' | '>' => {
                chars.next();
                let eq = chars.peek().map(|(_, n)| *n) == Some('=');
                if eq {
                    chars.next();
                }
                let op = match (c, eq) {
                    ('!', true) => Op::Ne,
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    ('>', true) => Op::Ge,
                    _ => return Err(err(format!("`!` at {} must be followed by `=`", at + 1))),
                };
                out.push((at, Token::Op(op)));
            }
            '"' | '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(err(format!("the quote opened at {} is never closed", at + 1))),
                        Some((_, q)) if q == c => {
                            // A doubled quote is one quote character.
                            if chars.peek().map(|(_, n)| *n) == Some(c) {
                                chars.next();
                                s.push(c);
                            } else {
                                break;
                            }
                        }
                        Some((_, '\\')) => match chars.next() {
                            Some((_, e)) => s.push(e),
                            None => return Err(err("a filter cannot end with `\\`")),
                        },
                        Some((_, ch)) => s.push(ch),
                    }
                }
                out.push((at, Token::Quoted(s)));
            }
            c if is_word_char(c) => {
                let mut s = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if !is_word_char(ch) {
                        break;
                    }
                    s.push(ch);
                    chars.next();
                }
                out.push((at, Token::Word(s)));
            }
            other => return Err(err(format!("unexpected `{other}` at {}; quote values with spaces", at + 1))),
        }
    }
    Ok(out)
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '+' | '@' | ':' | '/')
}

fn keyword(t: &Token, k: &str) -> bool {
    matches!(t, Token::Word(w) if w.eq_ignore_ascii_case(k))
}

pub(super) const KEYWORDS: &[&str] = &["and", "or", "not", "in", "is", "empty"];

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn where_(&self) -> String {
        match self.tokens.get(self.pos) {
            Some((at, _)) => format!("at {}", at + 1),
            None => "at the end".into(),
        }
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.peek().is_some_and(|t| keyword(t, "or")) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.not()?;
        while self.peek().is_some_and(|t| keyword(t, "and")) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(format!("nested more than {MAX_DEPTH} deep")));
        }
        let e = if self.peek().is_some_and(|t| keyword(t, "not")) {
            self.pos += 1;
            Expr::Not(Box::new(self.not()?))
        } else {
            self.atom()?
        };
        self.depth -= 1;
        Ok(e)
    }

    fn atom(&mut self) -> Result<Expr> {
        let at = self.where_();
        match self.next() {
            Some(Token::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(e),
                    _ => Err(err(format!("missing `)` {}", self.where_back()))),
                }
            }
            Some(Token::Word(w)) if !KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => self.test(w.to_lowercase()),
            Some(other) => {
                Err(err(format!("expected a subject (stage, company, a field key…) {at}, found {}", show(&other))))
            }
            None => Err(err("the filter is empty or ends too soon")),
        }
    }

    fn where_back(&self) -> String {
        match self.tokens.get(self.pos.saturating_sub(1)) {
            Some((at, _)) => format!("at {}", at + 1),
            None => "at the end".into(),
        }
    }

    fn value(&mut self) -> Result<String> {
        let at = self.where_();
        match self.next() {
            Some(Token::Quoted(s)) => Ok(s),
            Some(Token::Word(w)) if !KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => Ok(w),
            Some(other) => Err(err(format!("expected a value {at}, found {}", show(&other)))),
            None => Err(err("a value is missing at the end")),
        }
    }

    fn test(&mut self, subject: String) -> Result<Expr> {
        let at = self.where_();
        match self.next() {
            Some(Token::Op(op)) => Ok(Expr::Compare { subject, op, value: self.value()? }),
            Some(t) if keyword(&t, "in") => {
                if self.next() != Some(Token::Open) {
                    return Err(err(format!("`in` takes a list in parentheses: {subject} in (a, b)")));
                }
                let mut values = vec![self.value()?];
                loop {
                    match self.next() {
                        Some(Token::Comma) => values.push(self.value()?),
                        Some(Token::Close) => break,
                        _ => return Err(err(format!("the list after `{subject} in` needs `,` or `)`"))),
                    }
                }
                Ok(Expr::In { subject, values })
            }
            Some(t) if keyword(&t, "is") => {
                let negated = self.peek().is_some_and(|t| keyword(t, "not"));
                if negated {
                    self.pos += 1;
                }
                match self.next() {
                    Some(t) if keyword(&t, "empty") => Ok(Expr::Empty { subject, negated }),
                    _ => Err(err(format!("write `{subject} is empty` or `{subject} is not empty`"))),
                }
            }
            Some(other) => Err(err(format!(
                "expected =, !=, <, <=, >, >=, ~, in or is after `{subject}` {at}, found {}",
                show(&other)
            ))),
            None => Err(err(format!("`{subject}` needs a test, e.g. {subject} = value"))),
        }
    }
}

fn show(t: &Token) -> String {
    match t {
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::Comma => "`,`".into(),
        Token::Op(op) => format!("`{}`", op.as_str()),
        Token::Word(w) => format!("`{w}`"),
        Token::Quoted(q) => format!("\"{q}\""),
    }
}

/// Parses a filter. Any input gives a tree or an `Invalid` error naming the place.
pub fn parse(input: &str) -> Result<Expr> {
    if input.len() > MAX_LEN {
        return Err(err(format!("is longer than {MAX_LEN} characters")));
    }
    let tokens = lex(input)?;
    let mut p = Parser { tokens, pos: 0, depth: 0 };
    let e = p.or()?;
    if p.pos < p.tokens.len() {
        let extra = &p.tokens[p.pos];
        return Err(err(format!("unexpected {} at {}; join tests with and/or", show(&extra.1), extra.0 + 1)));
    }
    Ok(e)
}
