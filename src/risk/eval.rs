//! Three-valued evaluation of compiled conditions (see `value.rs` for the semantics).
//!
//! Types were checked when loading, so a type mismatch cannot happen here; if it ever did,
//! the result is "undefined" (not computable), never a panic.

use super::cond::{ArithOp, CmpOp, Expr, Func};
use super::fields::{Ctx, months_between};
use super::value::{List, Miss, Tri, Val};

fn miss_of(v: Val<'_>) -> Miss {
    match v {
        Val::Missing(m) => m,
        _ => Miss::Undefined,
    }
}

pub(crate) fn eval<'c>(e: &'c Expr, ctx: &'c Ctx<'_>) -> Val<'c> {
    match e {
        Expr::Bool(b) => Val::Bool(*b),
        Expr::Num(n) => Val::num(*n),
        Expr::Str(s) => Val::Str(s),
        Expr::Date(d) => Val::Date(*d),
        Expr::List(l) => Val::List(List::Owned(l)),
        Expr::Field(f) => ctx.get(*f),
        Expr::Param(i) => ctx
            .rs
            .params
            .get(*i)
            .and_then(|p| p.value_at(ctx.as_of))
            .map_or(Val::Missing(Miss::NoSource), |v| Val::num(v.value)),
        Expr::Not(a) => match eval(a, ctx) {
            Val::Bool(b) => Val::Bool(!b),
            v => Val::Missing(miss_of(v)),
        },
        Expr::And(a, b) => {
            let l = eval(a, ctx);
            if let Val::Bool(false) = l {
                return l;
            }
            let r = eval(b, ctx);
            match (l, r) {
                (_, Val::Bool(false)) => r,
                (Val::Bool(true), Val::Bool(true)) => l,
                (Val::Bool(true), x) | (x, Val::Bool(true)) => Val::Missing(miss_of(x)),
                (x, y) => Val::Missing(miss_of(x).join(miss_of(y))),
            }
        }
        Expr::Or(a, b) => {
            let l = eval(a, ctx);
            if let Val::Bool(true) = l {
                return l;
            }
            let r = eval(b, ctx);
            match (l, r) {
                (_, Val::Bool(true)) => r,
                (Val::Bool(false), Val::Bool(false)) => l,
                (Val::Bool(false), x) | (x, Val::Bool(false)) => Val::Missing(miss_of(x)),
                (x, y) => Val::Missing(miss_of(x).join(miss_of(y))),
            }
        }
        Expr::Cmp(op, a, b) => compare(*op, eval(a, ctx), eval(b, ctx)),
        Expr::In(a, b, negated) => match (eval(a, ctx), eval(b, ctx)) {
            (Val::Str(s), Val::List(l)) => Val::Bool(l.contains(s) != *negated),
            (x, y) => Val::Missing(miss_of(x).join(miss_of(y))),
        },
        Expr::Arith(op, a, b) => arith(*op, eval(a, ctx), eval(b, ctx)),
        Expr::Neg(a) => match eval(a, ctx) {
            Val::Num(lo, hi) => Val::Num(-hi, -lo),
            v => Val::Missing(miss_of(v)),
        },
        Expr::Call(f, args) => call(*f, args, ctx),
    }
}

fn compare<'c>(op: CmpOp, l: Val<'c>, r: Val<'c>) -> Val<'c> {
    let t = match (l, r) {
        (Val::Num(a_lo, a_hi), Val::Num(b_lo, b_hi)) => {
            let lt = |a_lo: f64, a_hi: f64, b_lo: f64, b_hi: f64| {
                if a_hi < b_lo {
                    Tri::True
                } else if a_lo >= b_hi {
                    Tri::False
                } else {
                    Tri::Unknown
                }
            };
            let le = |a_lo: f64, a_hi: f64, b_lo: f64, b_hi: f64| {
                if a_hi <= b_lo {
                    Tri::True
                } else if a_lo > b_hi {
                    Tri::False
                } else {
                    Tri::Unknown
                }
            };
            let eq = if a_lo == a_hi && b_lo == b_hi && a_lo == b_lo {
                Tri::True
            } else if a_hi < b_lo || b_hi < a_lo {
                Tri::False
            } else {
                Tri::Unknown
            };
            match op {
                CmpOp::Lt => lt(a_lo, a_hi, b_lo, b_hi),
                CmpOp::Le => le(a_lo, a_hi, b_lo, b_hi),
                CmpOp::Gt => lt(b_lo, b_hi, a_lo, a_hi),
                CmpOp::Ge => le(b_lo, b_hi, a_lo, a_hi),
                CmpOp::Eq => eq,
                CmpOp::Ne => not(eq),
            }
        }
        (Val::Date(a), Val::Date(b)) => Tri::from(match op {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }),
        (Val::Str(a), Val::Str(b)) => eq_op(op, a == b),
        (Val::Bool(a), Val::Bool(b)) => eq_op(op, a == b),
        (x, y) => return Val::Missing(miss_of(x).join(miss_of(y))),
    };
    t.to_val()
}

fn eq_op(op: CmpOp, equal: bool) -> Tri {
    match op {
        CmpOp::Eq => Tri::from(equal),
        CmpOp::Ne => Tri::from(!equal),
        _ => Tri::Unknown,
    }
}

fn not(t: Tri) -> Tri {
    match t {
        Tri::True => Tri::False,
        Tri::False => Tri::True,
        Tri::Unknown => Tri::Unknown,
    }
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }
}

fn arith<'c>(op: ArithOp, l: Val<'c>, r: Val<'c>) -> Val<'c> {
    let (Val::Num(a, b), Val::Num(c, d)) = (l, r) else {
        return Val::Missing(miss_of(l).join(miss_of(r)));
    };
    let (lo, hi) = match op {
        ArithOp::Add => (a + c, b + d),
        ArithOp::Sub => (a - d, b - c),
        ArithOp::Mul => span([a * c, a * d, b * c, b * d]),
        ArithOp::Div => {
            // Dividing by an interval that holds zero has no defined result.
            if c <= 0.0 && d >= 0.0 {
                return Val::Missing(Miss::Undefined);
            }
            span([a / c, a / d, b / c, b / d])
        }
    };
    if lo.is_finite() && hi.is_finite() {
        Val::Num(lo, hi)
    } else {
        Val::Missing(Miss::Undefined)
    }
}

fn span(xs: [f64; 4]) -> (f64, f64) {
    xs.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

fn call<'c>(f: Func, args: &'c [Expr], ctx: &'c Ctx<'_>) -> Val<'c> {
    let arg = |i: usize| {
        args.get(i)
            .map_or(Val::Missing(Miss::Undefined), |a| eval(a, ctx))
    };
    match f {
        Func::IsMissing | Func::IsKnown => {
            let missing = match arg(0) {
                // No data at all: we cannot tell whether the field would be empty.
                Val::Missing(Miss::NoSource) => return Val::Missing(Miss::NoSource),
                Val::Missing(_) => true,
                _ => false,
            };
            Val::Bool(missing == (f == Func::IsMissing))
        }
        Func::MonthsBetween | Func::DaysBetween => match (arg(0), arg(1)) {
            (Val::Date(a), Val::Date(b)) => {
                if f == Func::MonthsBetween {
                    Val::num(months_between(a, b) as f64)
                } else {
                    Val::num((b - a).num_days() as f64)
                }
            }
            (x, y) => Val::Missing(miss_of(x).join(miss_of(y))),
        },
        Func::Year => match arg(0) {
            Val::Date(d) => Val::num(f64::from(chrono::Datelike::year(&d))),
            v => Val::Missing(miss_of(v)),
        },
        Func::Len => match arg(0) {
            Val::List(l) => Val::num(l.len() as f64),
            v => Val::Missing(miss_of(v)),
        },
        Func::Overlaps => match (arg(0), arg(1)) {
            (Val::List(a), Val::List(b)) => Val::Bool(a.iter().any(|x| b.contains(x))),
            (x, y) => Val::Missing(miss_of(x).join(miss_of(y))),
        },
        Func::AnyStartsWith => match (arg(0), arg(1)) {
            (Val::List(a), Val::List(b)) => Val::Bool(a.iter().any(|x| b.iter().any(|p| x.starts_with(p)))),
            (x, y) => Val::Missing(miss_of(x).join(miss_of(y))),
        },
        Func::Extra => match (arg(0), ctx.contract) {
            (Val::Str(key), Some(c)) => Val::opt_str(c.extras.get(key).map(String::as_str)),
            (_, None) => Val::Missing(Miss::NoSource),
            (v, _) => Val::Missing(miss_of(v)),
        },
        Func::Min | Func::Max => match (arg(0), arg(1)) {
            (Val::Num(a, b), Val::Num(c, d)) => {
                if f == Func::Min {
                    Val::Num(a.min(c), b.min(d))
                } else {
                    Val::Num(a.max(c), b.max(d))
                }
            }
            (x, y) => Val::Missing(miss_of(x).join(miss_of(y))),
        },
    }
}
