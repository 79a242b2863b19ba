//! The condition language: lexer, parser and type checker.
//!
//! Small on purpose, so that Kemneren can read and edit it:
//!
//! ```text
//! supplier.employees < 5 and contract.value_nok > 500_000
//! supplier.org_form in ["ENK", "NUF"]
//! months_between(supplier.registered_date, contract.start_date) < param.nyregistrert_maaneder
//! is_missing(contract.cpv) or not overlaps(contract.industries, supplier.industries)
//! ```
//!
//! Norwegian spellings of the words are accepted too (`og`, `eller`, `ikke`, `i`, `sant`,
//! `usant`). Every name is resolved and every operator type-checked here, when the rule
//! set is loaded, so a typo is a load error with a position, never a silent `false` at run
//! time. Evaluation (three-valued) is in `eval.rs`.

use chrono::NaiveDate;

use super::fields::{self, FIELDS, Field};
use super::value::Type;

/// How deeply a condition may nest: parentheses, `not`, minus signs and function calls
/// while parsing, and operators and calls in the compiled tree (a chain `a and b and c`
/// is as deep as `a and (b and c)`). The parser, the evaluator and dropping a tree all
/// recurse once per level, so without a limit a hostile condition (20 000 parentheses)
/// overflows the stack and aborts the whole service. The shipped conditions are under 10
/// levels; documented in `rules/README.md`.
pub(crate) const MAX_DEPTH: usize = 64;

/// Identifiers longer than this get no "did you mean" suggestion: the edit distance is
/// quadratic, and no field or parameter name is anywhere near this long.
const MAX_SUGGEST_LEN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    IsMissing,
    IsKnown,
    MonthsBetween,
    DaysBetween,
    Year,
    Len,
    Overlaps,
    AnyStartsWith,
    Extra,
    Min,
    Max,
}

/// name, function, argument types (`None` = any type), result type.
const FUNCS: &[(&str, Func, &[Option<Type>], Type)] = &[
    ("is_missing", Func::IsMissing, &[None], Type::Bool),
    ("mangler", Func::IsMissing, &[None], Type::Bool),
    ("is_known", Func::IsKnown, &[None], Type::Bool),
    ("finnes", Func::IsKnown, &[None], Type::Bool),
    (
        "months_between",
        Func::MonthsBetween,
        &[Some(Type::Date), Some(Type::Date)],
        Type::Num,
    ),
    (
        "days_between",
        Func::DaysBetween,
        &[Some(Type::Date), Some(Type::Date)],
        Type::Num,
    ),
    ("year", Func::Year, &[Some(Type::Date)], Type::Num),
    ("len", Func::Len, &[Some(Type::List)], Type::Num),
    (
        "overlaps",
        Func::Overlaps,
        &[Some(Type::List), Some(Type::List)],
        Type::Bool,
    ),
    (
        "any_starts_with",
        Func::AnyStartsWith,
        &[Some(Type::List), Some(Type::List)],
        Type::Bool,
    ),
    ("extra", Func::Extra, &[Some(Type::Str)], Type::Str),
    ("min", Func::Min, &[Some(Type::Num), Some(Type::Num)], Type::Num),
    ("max", Func::Max, &[Some(Type::Num), Some(Type::Num)], Type::Num),
];

/// The names `date(...)` is special: it takes a literal and is folded when loading.
pub(crate) fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCS.iter().map(|f| f.0).chain(std::iter::once("date"))
}

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Bool(bool),
    Num(f64),
    Str(String),
    Date(NaiveDate),
    List(Vec<String>),
    Field(Field),
    Param(usize),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Box<Expr>, bool),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Call(Func, Vec<Expr>),
}

/// An input a condition reads; listed as evidence and used for "not computable" reasons.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ref {
    /// The field and its name as written (`supplier.employees`).
    Field(Field, &'static str),
    /// The parameter's index and its name as written (`param.terskel_kommune_nok`).
    Param(usize, String),
    /// An `extra("Kolonne")` read, with the evidence name `extra.Kolonne`.
    Extra(String, String),
}

/// A parsed, type-checked condition.
#[derive(Clone, Debug)]
pub(crate) struct Condition {
    pub(crate) expr: Expr,
    pub(crate) refs: Vec<Ref>,
    pub(crate) reads_contract: bool,
}

/// A problem in a condition, at a byte offset into the condition text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CondError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Cmp(CmpOp),
    Arith(ArithOp),
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Num(n) => n.to_string(),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::LBracket => "[".into(),
            Tok::RBracket => "]".into(),
            Tok::Comma => ",".into(),
            Tok::Cmp(op) => cmp_str(*op).into(),
            Tok::Arith(op) => arith_str(*op).into(),
        }
    }
}

fn cmp_str(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
    }
}

fn arith_str(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "+",
        ArithOp::Sub => "-",
        ArithOp::Mul => "*",
        ArithOp::Div => "/",
    }
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, CondError> {
    Err(CondError {
        offset,
        message: message.into(),
    })
}

fn too_deep<T>(offset: usize) -> Result<T, CondError> {
    err(
        offset,
        format!(
            "vilkåret er nøstet for dypt: høyst {MAX_DEPTH} nivåer med parenteser, operatorer og funksjonskall er tillatt (del det opp eller forenkle det)"
        ),
    )
}

/// A node of the compiled tree, `height` levels high, refused past [`MAX_DEPTH`].
fn node(e: Expr, ty: Type, pos: usize, height: usize) -> Result<Typed, CondError> {
    if height > MAX_DEPTH {
        return too_deep(pos);
    }
    Ok(Typed { e, ty, pos, height })
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, CondError> {
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        if c == '#' {
            // A comment runs to the end of the line: lets authors annotate long conditions.
            while it.peek().is_some_and(|&(_, c)| c != '\n') {
                it.next();
            }
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut end = i;
            while let Some(&(j, c)) = it.peek() {
                if c.is_alphanumeric() || c == '_' || c == '.' {
                    end = j + c.len_utf8();
                    it.next();
                } else {
                    break;
                }
            }
            out.push((Tok::Ident(src[i..end].to_owned()), i));
            continue;
        }
        if c.is_ascii_digit() {
            let mut end = i;
            while let Some(&(j, c)) = it.peek() {
                if c.is_ascii_digit() || c == '_' || c == '.' {
                    end = j + 1;
                    it.next();
                } else {
                    break;
                }
            }
            let text: String = src[i..end].chars().filter(|&c| c != '_').collect();
            match text.parse::<f64>() {
                Ok(n) if n.is_finite() => out.push((Tok::Num(n), i)),
                _ => return err(i, format!("ugyldig tall «{}»", &src[i..end])),
            }
            continue;
        }
        if c == '"' {
            it.next();
            let mut s = String::new();
            let mut closed = false;
            for (_, c) in it.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                s.push(c);
            }
            if !closed {
                return err(i, "teksten mangler avsluttende anførselstegn (\")");
            }
            out.push((Tok::Str(s), i));
            continue;
        }
        it.next();
        let next = it.peek().map(|&(_, c)| c);
        let (tok, two) = match (c, next) {
            ('(', _) => (Tok::LParen, false),
            (')', _) => (Tok::RParen, false),
            ('[', _) => (Tok::LBracket, false),
            (']', _) => (Tok::RBracket, false),
            (',', _) => (Tok::Comma, false),
            ('+', _) => (Tok::Arith(ArithOp::Add), false),
            ('-', _) => (Tok::Arith(ArithOp::Sub), false),
            ('*', _) => (Tok::Arith(ArithOp::Mul), false),
            ('/', _) => (Tok::Arith(ArithOp::Div), false),
            ('<', Some('=')) => (Tok::Cmp(CmpOp::Le), true),
            ('<', _) => (Tok::Cmp(CmpOp::Lt), false),
            ('>', Some('=')) => (Tok::Cmp(CmpOp::Ge), true),
            ('>', _) => (Tok::Cmp(CmpOp::Gt), false),
            ('=', Some('=')) => (Tok::Cmp(CmpOp::Eq), true),
            // A single `=` is what most people write for "equals".
            ('=', _) => (Tok::Cmp(CmpOp::Eq), false),
            ('!', Some('=')) => (Tok::Cmp(CmpOp::Ne), true),
            ('\'', _) => return err(i, "bruk doble anførselstegn (\") rundt tekst i vilkår"),
            _ => return err(i, format!("uventet tegn «{c}»")),
        };
        if two {
            it.next();
        }
        out.push((tok, i));
    }
    Ok(out)
}

struct Typed {
    e: Expr,
    ty: Type,
    pos: usize,
    /// Levels in `e` (a leaf is 1); at most [`MAX_DEPTH`].
    height: usize,
}

/// Resolves `param.<id>` names to indices.
pub(crate) trait ParamNames {
    fn index_of(&self, id: &str) -> Option<usize>;
    fn names(&self) -> Vec<String>;
}

struct Parser<'p> {
    toks: Vec<(Tok, usize)>,
    i: usize,
    end: usize,
    params: &'p dyn ParamNames,
    refs: Vec<Ref>,
    /// Nested parentheses, `not`, minus signs and calls open right now; at most [`MAX_DEPTH`].
    depth: usize,
}

fn is_kw(t: Option<&Tok>, words: &[&str]) -> bool {
    matches!(t, Some(Tok::Ident(s)) if words.contains(&s.as_str()))
}

const AND: &[&str] = &["and", "og"];
const OR: &[&str] = &["or", "eller"];
const NOT: &[&str] = &["not", "ikke"];
const IN: &[&str] = &["in", "i"];

/// Parses and type-checks a condition; the result must be a truth value.
pub(crate) fn compile(src: &str, params: &dyn ParamNames) -> Result<Condition, CondError> {
    let toks = lex(src)?;
    if toks.is_empty() {
        return err(0, "vilkåret er tomt");
    }
    let mut p = Parser {
        toks,
        i: 0,
        end: src.len(),
        params,
        refs: Vec::new(),
        depth: 0,
    };
    let t = p.or()?;
    if let Some((tok, pos)) = p.toks.get(p.i) {
        return err(
            *pos,
            format!(
                "uventet «{}» etter et fullstendig uttrykk (mangler «and»/«or» eller en parentes?)",
                tok.show()
            ),
        );
    }
    if t.ty != Type::Bool {
        return err(
            t.pos,
            format!(
                "vilkåret må gi sann/usann, men gir {} (mangler en sammenligning?)",
                t.ty.name()
            ),
        );
    }
    let reads_contract = p.refs.iter().any(|r| match r {
        Ref::Field(f, _) => f.reads_contract(),
        Ref::Extra(..) => true,
        Ref::Param(..) => false,
    });
    Ok(Condition {
        expr: t.e,
        refs: p.refs,
        reads_contract,
    })
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.1)
    }

    /// Opens one level of nesting while parsing (a parenthesis, `not`, a minus sign, a call's
    /// arguments); refused past [`MAX_DEPTH`] before recursing any further.
    fn enter(&mut self, pos: usize) -> Result<(), CondError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return too_deep(pos);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn add_ref(&mut self, r: Ref) {
        if !self.refs.contains(&r) {
            self.refs.push(r);
        }
    }

    fn expect_bool(&self, t: &Typed, word: &str) -> Result<(), CondError> {
        if t.ty == Type::Bool {
            Ok(())
        } else {
            err(
                t.pos,
                format!(
                    "«{word}» krever sann/usann på begge sider, men fikk {}",
                    t.ty.name()
                ),
            )
        }
    }

    fn or(&mut self) -> Result<Typed, CondError> {
        let mut l = self.and()?;
        while is_kw(self.peek(), OR) {
            self.i += 1;
            let r = self.and()?;
            self.expect_bool(&l, "or")?;
            self.expect_bool(&r, "or")?;
            let height = 1 + l.height.max(r.height);
            l = node(Expr::Or(Box::new(l.e), Box::new(r.e)), Type::Bool, l.pos, height)?;
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Typed, CondError> {
        let mut l = self.not()?;
        while is_kw(self.peek(), AND) {
            self.i += 1;
            let r = self.not()?;
            self.expect_bool(&l, "and")?;
            self.expect_bool(&r, "and")?;
            let height = 1 + l.height.max(r.height);
            l = node(Expr::And(Box::new(l.e), Box::new(r.e)), Type::Bool, l.pos, height)?;
        }
        Ok(l)
    }

    fn not(&mut self) -> Result<Typed, CondError> {
        if is_kw(self.peek(), NOT) {
            let pos = self.pos();
            self.i += 1;
            self.enter(pos)?;
            let t = self.not()?;
            self.leave();
            if t.ty != Type::Bool {
                return err(
                    t.pos,
                    format!("«not» krever sann/usann, men fikk {}", t.ty.name()),
                );
            }
            return node(Expr::Not(Box::new(t.e)), Type::Bool, pos, t.height + 1);
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Typed, CondError> {
        let l = self.sum()?;
        // `x not in [...]` / `x ikke i [...]`
        let negated_in = is_kw(self.peek(), NOT) && is_kw(self.toks.get(self.i + 1).map(|t| &t.0), IN);
        if negated_in || is_kw(self.peek(), IN) {
            let op_pos = self.pos();
            self.i += if negated_in { 2 } else { 1 };
            let r = self.sum()?;
            if l.ty != Type::Str || r.ty != Type::List {
                let hint = if l.ty == Type::List && r.ty == Type::List {
                    " (for to lister: bruk overlaps(a, b))"
                } else {
                    ""
                };
                return err(
                    op_pos,
                    format!(
                        "«in» krever tekst til venstre og en liste til høyre, men fikk {} og {}{hint}",
                        l.ty.name(),
                        r.ty.name()
                    ),
                );
            }
            let height = 1 + l.height.max(r.height);
            return node(
                Expr::In(Box::new(l.e), Box::new(r.e), negated_in),
                Type::Bool,
                l.pos,
                height,
            );
        }
        let Some(Tok::Cmp(op)) = self.peek().cloned() else {
            return Ok(l);
        };
        let op_pos = self.pos();
        self.i += 1;
        let r = self.sum()?;
        let ok = match op {
            CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
                l.ty == r.ty && matches!(l.ty, Type::Num | Type::Date)
            }
            CmpOp::Eq | CmpOp::Ne => l.ty == r.ty && l.ty != Type::List,
        };
        if !ok {
            let hint = if l.ty == Type::List || r.ty == Type::List {
                " (for lister: bruk «in», overlaps(a, b) eller len(a))"
            } else {
                ""
            };
            return err(
                op_pos,
                format!(
                    "«{}» kan ikke sammenligne {} med {}{hint}",
                    cmp_str(op),
                    l.ty.name(),
                    r.ty.name()
                ),
            );
        }
        if let Some(Tok::Cmp(_)) = self.peek() {
            return err(
                self.pos(),
                "to sammenligninger etter hverandre; skriv «a < b and b < c»",
            );
        }
        let height = 1 + l.height.max(r.height);
        node(
            Expr::Cmp(op, Box::new(l.e), Box::new(r.e)),
            Type::Bool,
            l.pos,
            height,
        )
    }

    fn sum(&mut self) -> Result<Typed, CondError> {
        let mut l = self.product()?;
        while let Some(Tok::Arith(op @ (ArithOp::Add | ArithOp::Sub))) = self.peek().cloned() {
            let op_pos = self.pos();
            self.i += 1;
            let r = self.product()?;
            l = self.arith(op, op_pos, l, r)?;
        }
        Ok(l)
    }

    fn product(&mut self) -> Result<Typed, CondError> {
        let mut l = self.unary()?;
        while let Some(Tok::Arith(op @ (ArithOp::Mul | ArithOp::Div))) = self.peek().cloned() {
            let op_pos = self.pos();
            self.i += 1;
            let r = self.unary()?;
            l = self.arith(op, op_pos, l, r)?;
        }
        Ok(l)
    }

    fn arith(&self, op: ArithOp, op_pos: usize, l: Typed, r: Typed) -> Result<Typed, CondError> {
        if l.ty != Type::Num || r.ty != Type::Num {
            let hint = if l.ty == Type::Date || r.ty == Type::Date {
                " (for datoer: bruk months_between(a, b) eller days_between(a, b))"
            } else {
                ""
            };
            return err(
                op_pos,
                format!(
                    "«{}» krever tall på begge sider, men fikk {} og {}{hint}",
                    arith_str(op),
                    l.ty.name(),
                    r.ty.name()
                ),
            );
        }
        let height = 1 + l.height.max(r.height);
        node(
            Expr::Arith(op, Box::new(l.e), Box::new(r.e)),
            Type::Num,
            l.pos,
            height,
        )
    }

    fn unary(&mut self) -> Result<Typed, CondError> {
        if let Some(Tok::Arith(ArithOp::Sub)) = self.peek() {
            let pos = self.pos();
            self.i += 1;
            self.enter(pos)?;
            let t = self.unary()?;
            self.leave();
            if t.ty != Type::Num {
                return err(
                    t.pos,
                    format!("minustegn krever et tall, men fikk {}", t.ty.name()),
                );
            }
            return node(Expr::Neg(Box::new(t.e)), Type::Num, pos, t.height + 1);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Typed, CondError> {
        let pos = self.pos();
        let Some(tok) = self.peek().cloned() else {
            return err(pos, "forventet et uttrykk, men vilkåret slutter her");
        };
        self.i += 1;
        let typed = |e, ty| node(e, ty, pos, 1);
        match tok {
            Tok::Num(n) => typed(Expr::Num(n), Type::Num),
            Tok::Str(s) => typed(Expr::Str(s), Type::Str),
            Tok::LParen => {
                self.enter(pos)?;
                let t = self.or()?;
                self.leave();
                if self.peek() != Some(&Tok::RParen) {
                    return err(self.pos(), "mangler «)»");
                }
                self.i += 1;
                Ok(Typed { pos, ..t })
            }
            Tok::LBracket => {
                let mut items = Vec::new();
                if self.peek() == Some(&Tok::RBracket) {
                    self.i += 1;
                    return typed(Expr::List(items), Type::List);
                }
                loop {
                    match self.peek().cloned() {
                        Some(Tok::Str(s)) => items.push(s),
                        Some(other) => {
                            return err(
                                self.pos(),
                                format!(
                                    "lister kan bare inneholde tekst i anførselstegn, fant «{}»",
                                    other.show()
                                ),
                            );
                        }
                        None => return err(self.pos(), "listen mangler «]»"),
                    }
                    self.i += 1;
                    match self.peek() {
                        Some(Tok::Comma) => {
                            self.i += 1;
                            // Allow a trailing comma before `]`.
                            if self.peek() == Some(&Tok::RBracket) {
                                self.i += 1;
                                break;
                            }
                        }
                        Some(Tok::RBracket) => {
                            self.i += 1;
                            break;
                        }
                        _ => return err(self.pos(), "forventet «,» eller «]» i listen"),
                    }
                }
                typed(Expr::List(items), Type::List)
            }
            Tok::Ident(name) => self.ident(name, pos),
            other => err(pos, format!("forventet et uttrykk, fant «{}»", other.show())),
        }
    }

    fn ident(&mut self, name: String, pos: usize) -> Result<Typed, CondError> {
        let typed = |e, ty| node(e, ty, pos, 1);
        match name.as_str() {
            "true" | "sant" => return typed(Expr::Bool(true), Type::Bool),
            "false" | "usant" => return typed(Expr::Bool(false), Type::Bool),
            _ => {}
        }
        if [AND, OR, NOT, IN].iter().any(|w| w.contains(&name.as_str())) {
            return err(pos, format!("forventet et uttrykk, fant ordet «{name}»"));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            return self.call(&name, pos);
        }
        if let Some(id) = name.strip_prefix("param.") {
            return match self.params.index_of(id) {
                Some(i) => {
                    self.add_ref(Ref::Param(i, name.clone()));
                    typed(Expr::Param(i), Type::Num)
                }
                None => {
                    let names = self.params.names();
                    err(
                        pos,
                        format!(
                            "ukjent parameter «{name}»{}; parametere defineres med [[parameter]]",
                            suggest(id, names.iter().map(String::as_str))
                                .map_or(String::new(), |s| format!(" (mente du «param.{s}»?)"))
                        ),
                    )
                }
            };
        }
        match fields::lookup(&name) {
            Some(def) => {
                self.add_ref(Ref::Field(def.field, def.name));
                typed(Expr::Field(def.field), def.ty)
            }
            None => err(
                pos,
                format!(
                    "ukjent felt «{name}»{}",
                    suggest(&name, FIELDS.iter().map(|f| f.name))
                        .map_or(String::new(), |s| format!(" (mente du «{s}»?)"))
                ),
            ),
        }
    }

    fn call(&mut self, name: &str, pos: usize) -> Result<Typed, CondError> {
        let mut args = Vec::new();
        self.enter(pos)?;
        if self.peek() == Some(&Tok::RParen) {
            self.i += 1;
        } else {
            loop {
                args.push(self.or()?);
                match self.peek() {
                    Some(Tok::Comma) => self.i += 1,
                    Some(Tok::RParen) => {
                        self.i += 1;
                        break;
                    }
                    _ => {
                        return err(
                            self.pos(),
                            format!("forventet «,» eller «)» i kallet til {name}(…)"),
                        );
                    }
                }
            }
        }
        self.leave();
        if name == "date" {
            return match args.as_slice() {
                [Typed { e: Expr::Str(s), .. }] => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                    Ok(d) => node(Expr::Date(d), Type::Date, pos, 1),
                    Err(_) => err(
                        pos,
                        format!("ugyldig dato «{s}» (skriv ÅÅÅÅ-MM-DD, f.eks. \"2024-07-01\")"),
                    ),
                },
                _ => err(
                    pos,
                    "date(…) tar én dato i anførselstegn, f.eks. date(\"2024-07-01\")",
                ),
            };
        }
        let Some(&(_, func, arg_types, ret)) = FUNCS.iter().find(|f| f.0 == name) else {
            return err(
                pos,
                format!(
                    "ukjent funksjon «{name}»{}",
                    suggest(name, function_names()).map_or(String::new(), |s| format!(" (mente du «{s}»?)"))
                ),
            );
        };
        if args.len() != arg_types.len() {
            return err(
                pos,
                format!(
                    "{name}(…) tar {} argument{}, men fikk {}",
                    arg_types.len(),
                    if arg_types.len() == 1 { "" } else { "er" },
                    args.len()
                ),
            );
        }
        for (k, (a, want)) in args.iter().zip(arg_types.iter()).enumerate() {
            if let Some(want) = want
                && a.ty != *want
            {
                return err(
                    a.pos,
                    format!(
                        "argument {} til {name}(…) må være {}, men er {}",
                        k + 1,
                        want.name(),
                        a.ty.name()
                    ),
                );
            }
        }
        if func == Func::Extra {
            match args.first() {
                Some(Typed {
                    e: Expr::Str(key), ..
                }) => self.add_ref(Ref::Extra(key.clone(), format!("extra.{key}"))),
                _ => {
                    return err(
                        pos,
                        "extra(…) tar et kolonnenavn i anførselstegn, f.eks. extra(\"Rammeavtale\")",
                    );
                }
            }
        }
        let height = 1 + args.iter().map(|a| a.height).max().unwrap_or(0);
        node(
            Expr::Call(func, args.into_iter().map(|a| a.e).collect()),
            ret,
            pos,
            height,
        )
    }
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
/// Close means a small edit distance, or a long shared beginning (`nyregistrert_mnd` for
/// `nyregistrert_maaneder`: people abbreviate the end of long names).
pub(crate) fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    if len > MAX_SUGGEST_LEN {
        return None;
    }
    let limit = (len / 3).clamp(1, 4);
    let candidates: Vec<&str> = candidates
        .filter(|c| c.chars().count() <= MAX_SUGGEST_LEN)
        .collect();
    let by_distance = candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    by_distance.or_else(|| {
        let need = (len * 2 / 3).max(4);
        candidates
            .iter()
            .map(|c| {
                (
                    word.chars().zip(c.chars()).take_while(|(a, b)| a == b).count(),
                    *c,
                )
            })
            .filter(|(p, _)| *p >= need)
            .max_by_key(|(p, _)| *p)
            .map(|(_, c)| c)
    })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    struct P;
    impl ParamNames for P {
        fn index_of(&self, id: &str) -> Option<usize> {
            (id == "terskel").then_some(0)
        }
        fn names(&self) -> Vec<String> {
            vec!["terskel".into()]
        }
    }

    #[test]
    fn parses_examples() {
        for src in [
            "supplier.employees < 5 and contract.value_nok > 500_000",
            "supplier.org_form in [\"ENK\", \"NUF\"]",
            "supplier.org_form ikke i [\"ENK\",]",
            "months_between(supplier.registered_date, contract.start_date) < 24",
            "is_missing(contract.cpv) eller contract.value_nok >= param.terskel",
            "contract.start_date >= date(\"2024-07-01\") # kommentar",
            "not (contract.value_nok / supplier.employees > 1_500_000)",
        ] {
            assert!(compile(src, &P).is_ok(), "{src}: {:?}", compile(src, &P).err());
        }
    }

    fn too_deep_at(src: &str) -> usize {
        match compile(src, &P) {
            Err(e) => {
                assert!(e.message.contains("nøstet for dypt"), "{}", e.message);
                assert!(e.message.contains(&MAX_DEPTH.to_string()), "{}", e.message);
                e.offset
            }
            Ok(_) => panic!("accepted a condition nested too deeply"),
        }
    }

    /// Levels in a compiled tree (what evaluating and dropping it recurse through).
    fn height(e: &Expr) -> usize {
        1 + match e {
            Expr::Not(a) | Expr::Neg(a) => height(a),
            Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Cmp(_, a, b)
            | Expr::In(a, b, _)
            | Expr::Arith(_, a, b) => height(a).max(height(b)),
            Expr::Call(_, args) => args.iter().map(height).max().unwrap_or(0),
            _ => 0,
        }
    }

    #[test]
    fn deep_parentheses_are_an_error_not_a_stack_overflow() {
        // The 63 KB body from the issue: one comparison inside 20 000 parentheses.
        let n = 20_000;
        let src = format!("{}contract.value_nok > 1{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(
            too_deep_at(&src),
            MAX_DEPTH,
            "points at the first parenthesis too many"
        );
        // Unbalanced is refused the same way, before the missing `)` is noticed.
        too_deep_at(&"(".repeat(n));
        // Just inside the limit is fine.
        let ok = MAX_DEPTH - 1;
        let src = format!("{}contract.value_nok > 1{}", "(".repeat(ok), ")".repeat(ok));
        assert!(compile(&src, &P).is_ok(), "{:?}", compile(&src, &P).err());
    }

    #[test]
    fn every_recursive_form_is_limited() {
        let n = 20_000;
        too_deep_at(&format!("{}true", "not ".repeat(n)));
        too_deep_at(&format!("{}true", "ikke ".repeat(n)));
        too_deep_at(&format!("contract.value_nok > {}1", "-".repeat(n)));
        too_deep_at(&format!("contract.value_nok > {}1", "- ".repeat(n)));
        too_deep_at(&format!(
            "contract.value_nok > {}1{}",
            "min(1, ".repeat(n),
            ")".repeat(n)
        ));
        too_deep_at(&format!("is_missing({}", "len(".repeat(n)));
        too_deep_at(&format!("{}true{}", "(not ".repeat(n), ")".repeat(n)));
        // Left-leaning chains parse in a loop, but the tree they build is as deep as they
        // are long, and evaluating or dropping it recurses through every level.
        too_deep_at(&vec!["true"; n].join(" and "));
        too_deep_at(&vec!["false"; n].join(" or "));
        too_deep_at(&format!("contract.value_nok > {}", vec!["1"; n].join(" + ")));
        too_deep_at(&format!("contract.value_nok > {}", vec!["2"; n].join(" * ")));
        // Flat things stay flat: a long list is one level, a long comment none.
        let list: Vec<String> = (0..n).map(|i| format!("\"{i}\"")).collect();
        let src = format!("supplier.org_form in [{}]", list.join(", "));
        assert!(compile(&src, &P).is_ok());
        let src = format!("true # {}", "(".repeat(n));
        assert!(compile(&src, &P).is_ok());
    }

    #[test]
    fn accepted_trees_are_at_most_max_depth_high() {
        for src in [
            vec!["true"; MAX_DEPTH].join(" and "),
            format!("{}true", "not ".repeat(MAX_DEPTH - 1)),
            format!("contract.value_nok > {}", vec!["1"; MAX_DEPTH - 1].join(" + ")),
        ] {
            match compile(&src, &P) {
                Ok(c) => assert!(height(&c.expr) <= MAX_DEPTH),
                Err(e) => assert!(e.message.contains("nøstet for dypt"), "{}", e.message),
            }
        }
        let c = compile(&vec!["true"; MAX_DEPTH - 1].join(" and "), &P);
        assert_eq!(c.map(|c| height(&c.expr)).ok(), Some(MAX_DEPTH - 1));
    }

    #[test]
    fn the_deepest_accepted_conditions_fit_a_worker_stack() {
        // Parsing recurses through eight to ten functions per level; at the limit that must
        // fit inside an actix worker's 2 MiB with room to spare, also in a debug build (where
        // nested calls take about 0.9 MiB; a release build needs far less).
        let kib = 1536;
        let (parens, calls, nots) = (MAX_DEPTH - 1, MAX_DEPTH - 2, MAX_DEPTH / 2 - 1);
        for src in [
            format!(
                "{}contract.value_nok > 1{}",
                "(".repeat(parens),
                ")".repeat(parens)
            ),
            format!(
                "contract.value_nok > {}1{}",
                "min(1, ".repeat(calls),
                ")".repeat(calls)
            ),
            format!("{}true{}", "(not ".repeat(nots), ")".repeat(nots)),
        ] {
            let handle = std::thread::Builder::new()
                .stack_size(kib * 1024)
                .spawn(move || compile(&src, &P).map(|_| ()))
                .unwrap_or_else(|e| panic!("{e}"));
            let res = handle.join().unwrap_or_else(|_| panic!("panicked"));
            assert!(res.is_ok(), "{res:?}");
        }
    }

    #[test]
    fn shipped_conditions_are_far_from_the_limit() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let rules = crate::risk::RuleSet::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        for ind in rules.indicators() {
            let conds = std::iter::once(&ind.condition).chain(ind.applies_when.as_ref());
            for c in conds {
                assert!(height(&c.expr) < 10, "{}: {}", ind.id, height(&c.expr));
            }
        }
    }

    #[test]
    fn huge_identifiers_get_no_suggestion() {
        let name = format!("supplier.{}", "x".repeat(100_000));
        let e = compile(&format!("{name} > 1"), &P)
            .err()
            .unwrap_or_else(|| panic!());
        assert!(e.message.starts_with("ukjent felt"), "{}", &e.message[..40]);
        assert!(!e.message.contains("mente du"));
    }

    #[test]
    fn errors_are_positioned_and_norwegian() {
        let e = compile("supplier.employes < 5", &P)
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.offset, 0);
        assert!(e.message.contains("supplier.employees"), "{}", e.message);
        let e = compile("contract.value_nok > 5 and supplier.org_form", &P)
            .err()
            .unwrap_or_else(|| panic!());
        assert!(e.message.contains("sann/usann"), "{}", e.message);
        let e = compile("contract.value_nok > param.terskl", &P)
            .err()
            .unwrap_or_else(|| panic!());
        assert!(e.message.contains("param.terskel"), "{}", e.message);
        let e = compile("contract.value_nok > ", &P)
            .err()
            .unwrap_or_else(|| panic!());
        assert!(e.message.contains("slutter"), "{}", e.message);
    }
}
