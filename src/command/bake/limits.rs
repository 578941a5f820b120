//! What reading bake definitions may cost, whatever the files say: bounds on how much evaluation may
//! produce (interpolation and `for` multiply what they read), how deep values nest, and how deep
//! `inherits` and groups chain. Each limit is far above any real definition and is named in its error;
//! an HCL expression is weighed before it is evaluated, so a file that would expand past the limit is
//! refused without the work.

use std::cell::Cell;

use hcl::Expression as E;
use hcl::expr::{ObjectKey, Operation, TraversalOperator};
use hcl::template::{Directive, Element, Template};

/// Values all the bake files of one command may evaluate to, in units of [`size`] (a string's bytes, one
/// per other value): real definitions produce a few KB.
pub const EXPANSION_LIMIT: usize = 16 << 20;
/// How deep a value may nest (lists of lists): the HCL parser's own limit for what is written.
pub const NESTING_LIMIT: usize = 64;
/// How deep `inherits` and groups may chain: real ones are a few levels.
pub const DEPTH_LIMIT: usize = 100;

/// What evaluation may still produce.
pub struct Expansion(Cell<usize>);

impl Default for Expansion {
    fn default() -> Self {
        Expansion(Cell::new(EXPANSION_LIMIT))
    }
}

impl Expansion {
    /// Takes `size` units, or names `what` as passing the limit.
    pub fn take(&self, size: usize, what: impl Fn() -> String) -> Result<(), String> {
        self.fits(size, &what)?;
        self.0.set(self.0.get() - size);
        Ok(())
    }

    /// Whether `size` units are left, or `what` named as passing the limit.
    pub fn fits(&self, size: usize, what: &dyn Fn() -> String) -> Result<(), String> {
        match self.0.get().checked_sub(size) {
            Some(_) => Ok(()),
            None => Err(format!(
                "{}: expands past {} MiB of values, the limit for bake definitions (interpolation or \
                 `for` multiplying what it reads)",
                what(),
                EXPANSION_LIMIT >> 20
            )),
        }
    }
}

/// A value's size (a string's bytes, one per other value), or an error when it nests past the limit.
pub fn size(value: &hcl::Value) -> Result<usize, String> {
    fn walk(v: &hcl::Value, depth: usize) -> Result<usize, String> {
        if depth > NESTING_LIMIT {
            return Err(format!(
                "a value nests deeper than {NESTING_LIMIT} levels, the limit for bake values"
            ));
        }
        Ok(match v {
            hcl::Value::String(s) => s.len().max(1),
            hcl::Value::Array(items) => items.iter().try_fold(1usize, |n, i| {
                Ok::<_, String>(n.saturating_add(walk(i, depth + 1)?))
            })?,
            hcl::Value::Object(o) => o.iter().try_fold(1usize, |n, (k, i)| {
                Ok::<_, String>(
                    n.saturating_add(k.len())
                        .saturating_add(walk(i, depth + 1)?),
                )
            })?,
            _ => 1,
        })
    }
    walk(value, 0)
}

/// The most a value may grow when a template renders it as text (a list or object is written out with
/// quotes, escapes and an indent per level of nesting).
const RENDERED: usize = 2 * NESTING_LIMIT + 8;
/// A number's longest decimal form (f64: over 300 digits).
const NUMBER: usize = 400;

/// A variable's weight for [`estimate`]: its [`size`], or for a list or object its length as a template
/// renders it, when that is more.
pub fn weight(value: &hcl::Value) -> Result<usize, String> {
    let size = size(value)?;
    Ok(match value {
        hcl::Value::String(_) => size,
        other => size.max(other.to_string().len()),
    })
}

/// An upper bound on the [`size`] of `expr`'s value, from the weights of the variables it reads (`var`,
/// see [`weight`]): templates and lists add their parts, `for` multiplies its body by its collection, and
/// each function grows at most as bake's do (`replace` by its replacement, `join` and `formatlist` by
/// their list).
pub fn estimate(expr: &E, var: &dyn Fn(&str) -> Option<usize>) -> usize {
    let sum = |items: &mut dyn Iterator<Item = &E>| {
        items.fold(0usize, |n, e| n.saturating_add(estimate(e, var)))
    };
    match expr {
        E::Null | E::Bool(_) => 1,
        E::Number(_) => NUMBER,
        E::String(s) => s.len().max(1),
        E::Array(items) => 1 + sum(&mut items.iter()),
        E::Object(o) => o.iter().fold(1usize, |n, (k, v)| {
            let key = match k {
                ObjectKey::Identifier(i) => i.len(),
                ObjectKey::Expression(e) => estimate(e, var),
                _ => usize::MAX,
            };
            n.saturating_add(key).saturating_add(estimate(v, var))
        }),
        // A template that does not parse fails its evaluation the same way.
        E::TemplateExpr(t) => Template::from_expr(t).map_or(1, |t| template(&t, var)),
        E::Variable(v) => var(v.as_str()).unwrap_or(1),
        E::Traversal(t) => t
            .operators
            .iter()
            .fold(estimate(&t.expr, var), |n, op| match op {
                TraversalOperator::Index(i) => n.saturating_add(estimate(i, var)),
                _ => n,
            }),
        E::FuncCall(f) => {
            let args: Vec<usize> = f.args.iter().map(|a| estimate(a, var)).collect();
            let arg = |i: usize| args.get(i).copied().unwrap_or(0);
            let all = args.iter().fold(1usize, |n, a| n.saturating_add(*a));
            match f.name.name.as_str() {
                "replace" => arg(0).saturating_mul(arg(2).saturating_add(1)),
                "join" => arg(1).saturating_mul(arg(0).saturating_add(1)),
                "formatlist" => all.saturating_mul(all),
                // Case mapping may lengthen a character (ß → SS).
                "upper" | "lower" => all.saturating_mul(3),
                _ => all,
            }
        }
        E::Parenthesis(e) => estimate(e, var),
        E::Conditional(c) => estimate(&c.cond_expr, var)
            .saturating_add(estimate(&c.true_expr, var).max(estimate(&c.false_expr, var))),
        E::Operation(op) => match op.as_ref() {
            Operation::Unary(u) => estimate(&u.expr, var).saturating_add(1),
            Operation::Binary(b) => estimate(&b.lhs_expr, var)
                .saturating_add(estimate(&b.rhs_expr, var))
                .saturating_add(1),
        },
        E::ForExpr(f) => {
            let n = estimate(&f.collection_expr, var);
            let inner = loop_vars([Some(f.value_var.as_str()), f.key_var.as_deref()], n, var);
            let body = [
                Some(&f.value_expr),
                f.key_expr.as_ref(),
                f.cond_expr.as_ref(),
            ]
            .into_iter()
            .flatten()
            .fold(1usize, |b, e| b.saturating_add(estimate(e, &inner)));
            n.saturating_mul(body)
        }
        // A kind of expression a later hcl-rs may add: not weighed, so not evaluated.
        _ => usize::MAX,
    }
}

/// Inside a `for` (expression or template directive), its key and value variables weigh what the whole
/// collection does (`n`, an upper bound on any element); every other name weighs what it does outside.
fn loop_vars<'a>(
    names: [Option<&'a str>; 2],
    n: usize,
    var: &'a dyn Fn(&str) -> Option<usize>,
) -> impl Fn(&str) -> Option<usize> + 'a {
    move |name| {
        if names.contains(&Some(name)) {
            Some(n)
        } else {
            var(name)
        }
    }
}

fn template(t: &Template, var: &dyn Fn(&str) -> Option<usize>) -> usize {
    t.elements().iter().fold(1usize, |n, e| {
        n.saturating_add(match e {
            Element::Literal(s) => s.len(),
            Element::Interpolation(i) => as_text(&i.expr, var),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(i) => estimate(&i.cond_expr, var).saturating_add(
                    template(&i.true_template, var)
                        .max(i.false_template.as_ref().map_or(0, |f| template(f, var))),
                ),
                Directive::For(f) => {
                    let n = estimate(&f.collection_expr, var);
                    let inner =
                        loop_vars([Some(f.value_var.as_str()), f.key_var.as_deref()], n, var);
                    n.saturating_mul(template(&f.template, &inner))
                }
            },
        })
    })
}

/// An upper bound on the length of `expr`'s value as a template renders it: a string as it is, anything
/// else written out.
fn as_text(expr: &E, var: &dyn Fn(&str) -> Option<usize>) -> usize {
    match expr {
        // Strings, and variables whose weight is already their rendered length.
        E::String(_) | E::TemplateExpr(_) | E::Variable(_) | E::Number(_) => estimate(expr, var),
        E::FuncCall(f)
            if matches!(
                f.name.name.as_str(),
                "lower" | "upper" | "trimprefix" | "trimsuffix" | "replace" | "format" | "join"
            ) =>
        {
            estimate(expr, var)
        }
        E::Parenthesis(e) => as_text(e, var),
        E::Conditional(c) => estimate(&c.cond_expr, var)
            .saturating_add(as_text(&c.true_expr, var).max(as_text(&c.false_expr, var))),
        other => estimate(other, var).saturating_mul(RENDERED),
    }
}

/// `*` matches any run of characters, everything else is literal: the literal pieces between the stars,
/// the first a prefix, the last a suffix, the others found leftmost in turn, in time linear in the name.
pub fn glob(pattern: &str, name: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let mut middle: Vec<&str> = pieces.collect();
    let Some(last) = middle.pop() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use hcl::eval::{Context, Evaluate};
    use proptest::prelude::*;

    use super::*;

    /// Expressions over `v0` (a string), `v1` (a list) and `v2` (an object), in the shapes that grow.
    fn expr() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            prop::sample::select(vec!["v0", "v1", "v2", "x", "\"ab\"", "\"\"", "3"])
                .prop_map(str::to_string),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("\"${{{a}}}-${{{b}}}\"")),
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                (inner.clone(), inner.clone()).prop_map(|(c, b)| format!("[for x in {c} : {b}]")),
                (inner.clone(), inner.clone())
                    .prop_map(|(c, b)| format!("{{for x in {c} : x => {b}}}")),
                (inner.clone(), inner.clone())
                    .prop_map(|(c, b)| format!("\"%{{for x in {c}}}${{{b}}}%{{endfor}}\"")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("replace({a}, \"a\", {b})")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("formatlist(\"%s%s\", {a}, {b})")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("format(\"%s/%s\", {a}, {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("join({a}, {b})")),
                inner.clone().prop_map(|a| format!("upper({a})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{{ k = {a}, l = {b} }}")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("v1[0] == {a} ? {a} : {b}")),
                inner.prop_map(|a| format!("{a}.k")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The weighing is an upper bound: what an expression evaluates to is never larger, so no
        /// expression passes the weighing and then expands past it.
        #[test]
        fn the_estimate_bounds_the_value(text in expr()) {
            let Ok(expr) = text.parse::<hcl::Expression>() else { return Ok(()) };
            let mut ctx = Context::new();
            super::super::declare_functions(&mut ctx);
            let vars = [
                ("v0", hcl::Value::from("abc")),
                ("v1", hcl::Value::from(vec!["a", "bb"])),
                ("v2", hcl::Value::from_iter([("k", "x")])),
            ];
            let mut sizes = HashMap::new();
            for (name, value) in vars {
                sizes.insert(name, weight(&value).unwrap());
                ctx.declare_var(name, value);
            }
            let bound = estimate(&expr, &|n| sizes.get(n).copied());
            if bound >= 1 << 16 {
                return Ok(()); // too large to evaluate here
            }
            let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| expr.evaluate(&ctx)));
            if let Ok(Ok(value)) = evaluated {
                let actual = size(&value).unwrap();
                prop_assert!(actual <= bound, "{text}: {actual} > {bound}: {value:?}");
            }
        }
    }

    #[test]
    fn glob_matches_as_the_recursive_reading_did() {
        for (pattern, name, matches) in [
            ("app", "app", true),
            ("app", "api", false),
            ("*", "", true),
            ("*", "anything", true),
            ("app-*", "app-web", true),
            ("app-*", "app", false),
            ("*-web", "app-web", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("**", "x", true),
            ("*ab*ab", "abab", true),
            ("*ab*ab", "ab", false),
        ] {
            assert_eq!(glob(pattern, name), matches, "{pattern} {name}");
        }
        // Many stars against a long name that almost matches: linear, not exponential.
        let pattern = format!("{}b", "a*".repeat(200));
        let name = "a".repeat(100_000);
        let start = std::time::Instant::now();
        assert!(!glob(&pattern, &name));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }
}
