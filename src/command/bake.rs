//! `docker buildx bake` definitions read as bake reads them, for what a push depends on: which targets the
//! command builds and, for each, its tags, platforms, attestations, outputs and cache exports. HCL is read
//! with hcl-rs (variables with environment overrides, interpolation, a few of bake's functions), bake JSON
//! with serde_json, compose files with serde_yaml. What this does not evaluate is an error naming it, never
//! a guess.

mod limits;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};

use super::spec::{self, Output};
use super::{CommandError, Files};
use crate::input::BAKE_FILE;
pub(super) use limits::Expansion;
use limits::{DEPTH_LIMIT, estimate, glob};

/// One bake target as `docker buildx bake` would build it, after groups, `inherits`, variables and `--set`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BakeTarget {
    pub name: String,
    pub tags: Vec<String>,
    pub platforms: Vec<String>,
    /// `--attest` specs, e.g. `type=provenance,mode=max`.
    pub attest: Vec<String>,
    /// `--cache-to` specs.
    pub cache_to: Vec<String>,
    /// Its outputs, `--push` and `--load` applied.
    pub output: Vec<Output>,
}

/// What the bake command line said.
pub struct BakeInput<'a> {
    /// `-f/--file` values in order; empty: bake's default files in `cwd`.
    pub files: &'a [String],
    /// Targets or groups named; empty: `default`.
    pub targets: &'a [String],
    /// `--set` values in order.
    pub sets: &'a [String],
    /// `--push` and `--load`: `*.push=true` and `*.load=true` after every `--set`, as buildx applies them.
    pub push: bool,
    pub load: bool,
    pub cwd: &'a Path,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub fs: &'a dyn Files,
}

/// The files bake reads when none is named, in its order (docker/buildx `bake/bake.go`,
/// `defaultFilenames`: compose's default names, then bake's own); every one that exists is merged.
const DEFAULT_FILES: [&str; 8] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "docker-bake.json",
    "docker-bake.hcl",
    "docker-bake.override.json",
    "docker-bake.override.hcl",
];

/// The target attributes a push depends on: the one table of them that every reader (HCL, JSON, compose's
/// `x-bake`, `--set`) goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Tags,
    Platforms,
    Attest,
    CacheTo,
    Output,
    Inherits,
}

impl Key {
    const ALL: [Key; 6] = [
        Key::Tags,
        Key::Platforms,
        Key::Attest,
        Key::CacheTo,
        Key::Output,
        Key::Inherits,
    ];

    /// Its name in a bake file (HCL or JSON) and in compose's `x-bake`.
    fn name(self) -> &'static str {
        match self {
            Key::Tags => "tags",
            Key::Platforms => "platforms",
            Key::Attest => "attest",
            Key::CacheTo => "cache-to",
            Key::Output => "output",
            Key::Inherits => "inherits",
        }
    }

    fn named(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The keys `--set` accepts for it (buildx also reads `platform`); `inherits` is not one of them.
    fn from_set(name: &str) -> Option<Key> {
        match name {
            "platform" => Some(Key::Platforms),
            "inherits" => None,
            _ => Key::named(name),
        }
    }
}

/// A target's attributes as one file sets them, by [`Key`]; `None`: not set there (an earlier file's value
/// stays).
#[derive(Debug, Clone, Default)]
struct Def([Option<Vec<String>>; Key::ALL.len()]);

impl Def {
    fn get(&self, key: Key) -> &Option<Vec<String>> {
        &self.0[key as usize]
    }

    fn set(&mut self, key: Key, values: Vec<String>) {
        self.0[key as usize] = Some(values);
    }

    fn take(&mut self, key: Key) -> Vec<String> {
        self.0[key as usize].take().unwrap_or_default()
    }

    /// `other`'s attributes over these: a later file, or a child over its parent.
    fn overlay(&mut self, other: &Def) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
    }
}

/// Every file merged.
#[derive(Debug, Default)]
struct Config {
    targets: HashMap<String, Def>,
    groups: HashMap<String, Vec<String>>,
}

impl Config {
    fn target(&mut self, name: &str, def: Def) {
        self.targets
            .entry(name.to_string())
            .or_default()
            .overlay(&def);
    }
}

/// The targets the command builds, in the order bake resolves them, each once.
pub fn resolve(input: &BakeInput<'_>) -> Result<Vec<BakeTarget>, CommandError> {
    let files = read_files(input)?;
    let mut targets = evaluate(input, files).map_err(CommandError::Definition)?;
    for t in &mut targets {
        if input.push {
            spec::set_push(&mut t.output, true);
        }
        if input.load {
            spec::set_load(&mut t.output, true);
        }
    }
    Ok(targets)
}

/// The targets `files` (name, text) define, with every `--set` applied.
fn evaluate(
    input: &BakeInput<'_>,
    files: Vec<(String, String)>,
) -> Result<Vec<BakeTarget>, String> {
    let mut cfg = Config::default();
    let expansion = Expansion::default();
    for (name, text) in files {
        // By extension; a file named otherwise is JSON when it looks like it, else HCL, as bake reads it.
        let read = if name.ends_with(".yml") || name.ends_with(".yaml") {
            read_compose
        } else if name.ends_with(".json")
            || (!name.ends_with(".hcl") && text.trim_start().starts_with('{'))
        {
            read_json
        } else {
            read_hcl
        };
        read(&mut cfg, &expansion, &name, &text, input.env)?;
    }
    let requested: Vec<String> = if input.targets.is_empty() {
        vec!["default".into()]
    } else {
        input.targets.to_vec()
    };
    let mut names = Names::default();
    for r in &requested {
        expand(&cfg, r, &mut Vec::new(), &mut names)?;
    }
    let mut out = Vec::new();
    let mut flat = HashMap::new();
    for name in names.targets {
        let mut def = flatten(&cfg, &name, &mut Vec::new(), &mut flat)?;
        // Each target holds its own copy of what it inherits: that counts too.
        let size = def
            .0
            .iter()
            .flatten()
            .flatten()
            .fold(1usize, |n, v| n.saturating_add(v.len() + 1));
        expansion.take(size, || format!("bake target \"{name}\""))?;
        let output = def
            .take(Key::Output)
            .iter()
            .map(|o| Output::parse(o).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        out.push(BakeTarget {
            name,
            tags: def.take(Key::Tags),
            platforms: def.take(Key::Platforms),
            attest: def.take(Key::Attest),
            cache_to: def.take(Key::CacheTo),
            output,
        });
    }
    for set in input.sets {
        apply_set(&mut out, set)?;
    }
    Ok(out)
}

fn read_files(input: &BakeInput<'_>) -> Result<Vec<(String, String)>, CommandError> {
    let refused = |f: &str, why: String| CommandError::File {
        what: "bake file",
        path: f.into(),
        why,
    };
    if input.files.is_empty() {
        let mut found = Vec::new();
        for f in DEFAULT_FILES {
            match input.fs.read(&input.cwd.join(f), BAKE_FILE) {
                Ok(text) => found.push((f.to_string(), text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(refused(f, e.to_string())),
            }
        }
        if found.is_empty() {
            return Err(CommandError::NothingPushed(format!(
                "no bake file in {} (looked for {})",
                input.cwd.display(),
                DEFAULT_FILES.join(", ")
            )));
        }
        return Ok(found);
    }
    input
        .files
        .iter()
        .map(|f| {
            if f == "-" || f.contains("://") || f.starts_with("git@") {
                return Err(refused(
                    f,
                    "remote or standard-input bake definitions are not read".into(),
                ));
            }
            input
                .fs
                .read(&input.cwd.join(f), BAKE_FILE)
                .map(|t| (f.clone(), t))
                .map_err(|e| refused(f, e.to_string()))
        })
        .collect()
}

/// Target names in the order groups name them, each once, and the groups already expanded.
#[derive(Default)]
struct Names {
    targets: Vec<String>,
    seen: HashSet<String>,
    groups: HashSet<String>,
}

/// A target or group name into target names, groups expanded depth first. A group expanded once adds
/// nothing the second time, so it is not expanded again: a "diamond" of groups costs its size, not 2^depth.
fn expand(
    cfg: &Config,
    name: &str,
    stack: &mut Vec<String>,
    out: &mut Names,
) -> Result<(), String> {
    if stack.iter().any(|s| s == name) {
        return Err(format!("bake group cycle: {} -> {name}", chain(stack)));
    }
    if let Some(members) = cfg.groups.get(name) {
        if !out.groups.insert(name.to_string()) {
            return Ok(());
        }
        deeper(stack, name, "groups")?;
        for m in members {
            expand(cfg, m, stack, out)?;
        }
        stack.pop();
        return Ok(());
    }
    if !cfg.targets.contains_key(name) {
        return Err(format!("bake target or group \"{name}\" is not defined"));
    }
    if out.seen.insert(name.to_string()) {
        out.targets.push(name.to_string());
    }
    Ok(())
}

/// A target with its `inherits` applied: parents first, in order, then its own attributes. Each target is
/// flattened once (`flat`), so a parent inherited many times is not flattened many times.
fn flatten(
    cfg: &Config,
    name: &str,
    stack: &mut Vec<String>,
    flat: &mut HashMap<String, Def>,
) -> Result<Def, String> {
    if let Some(def) = flat.get(name) {
        return Ok(def.clone());
    }
    if stack.iter().any(|s| s == name) {
        return Err(format!("bake inherits cycle: {} -> {name}", chain(stack)));
    }
    let own = cfg
        .targets
        .get(name)
        .ok_or_else(|| format!("bake target \"{name}\" (inherited) is not defined"))?;
    deeper(stack, name, "inherits")?;
    let mut def = Def::default();
    for parent in own.get(Key::Inherits).iter().flatten() {
        def.overlay(&flatten(cfg, parent, stack, flat)?);
    }
    stack.pop();
    def.overlay(own);
    def.take(Key::Inherits);
    flat.insert(name.to_string(), def.clone());
    Ok(def)
}

/// One level deeper into `inherits` or groups, within [`DEPTH_LIMIT`].
fn deeper(stack: &mut Vec<String>, name: &str, what: &str) -> Result<(), String> {
    if stack.len() >= DEPTH_LIMIT {
        return Err(format!(
            "bake {what} chain deeper than {DEPTH_LIMIT} levels, the limit for bake definitions ({} -> …)",
            chain(&stack[..3])
        ));
    }
    stack.push(name.to_string());
    Ok(())
}

/// A chain of names as an error shows it.
fn chain(names: &[String]) -> String {
    names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// `PATTERN.KEY=VALUE` or `PATTERN.KEY+=VALUE`; PATTERN is a target name or a glob (`*`, `app-*`).
fn apply_set(targets: &mut [BakeTarget], set: &str) -> Result<(), String> {
    let bad = || format!("--set '{set}': expected TARGET.KEY=VALUE");
    let (lhs, value) = set.split_once('=').ok_or_else(bad)?;
    let (lhs, append) = match lhs.strip_suffix('+') {
        Some(l) => (l, true),
        None => (lhs, false),
    };
    let (pattern, key) = lhs.split_once('.').ok_or_else(bad)?;
    for t in targets.iter_mut().filter(|t| glob(pattern, &t.name)) {
        if matches!(key, "push" | "load") {
            let on = ecr_doctor_checks::prediction::go_bool(value)
                .ok_or_else(|| format!("--set '{set}': {key} takes true or false"))?;
            match key {
                "push" => spec::set_push(&mut t.output, on),
                _ => spec::set_load(&mut t.output, on),
            }
            continue;
        }
        let (slot, values) = match Key::from_set(key) {
            Some(Key::Output) => {
                let output = Output::parse(value).map_err(|e| e.to_string())?;
                if !append {
                    t.output.clear();
                }
                t.output.push(output);
                continue;
            }
            Some(Key::Tags) => (&mut t.tags, split(value)),
            Some(Key::Platforms) => (&mut t.platforms, split(value)),
            Some(Key::Attest) => (&mut t.attest, vec![value.to_string()]),
            Some(Key::CacheTo) => (&mut t.cache_to, vec![value.to_string()]),
            Some(Key::Inherits) | None => continue,
        };
        if append {
            slot.extend(values);
        } else {
            *slot = values;
        }
    }
    Ok(())
}

fn split(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

// --- HCL ------------------------------------------------------------------------------------------------

fn read_hcl(
    cfg: &mut Config,
    expansion: &Expansion,
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let body = hcl::parse(text).map_err(|e| format!("{file}: {}", one_line(&e.to_string())))?;
    let mut scope = Scope {
        ctx: Context::new(),
        sizes: HashMap::new(),
        expansion,
    };
    declare_functions(&mut scope.ctx);
    // Variables first, in file order: `variable` blocks, which the environment overrides, then top-level
    // attributes, which it does not.
    for block in body.blocks().filter(|b| b.identifier() == "variable") {
        let name = label(block, file)?;
        let what = || format!("{file}: variable \"{name}\"");
        let value = match env(&name) {
            Some(v) => {
                expansion.take(v.len(), what)?;
                hcl::Value::String(v)
            }
            None => match block.body().attributes().find(|a| a.key() == "default") {
                Some(a) => scope.eval(a.expr(), what)?,
                None => hcl::Value::String(String::new()),
            },
        };
        scope.declare(name, value);
    }
    for attr in body.attributes() {
        let value = scope.eval(attr.expr(), || format!("{file}: {}", attr.key()))?;
        scope.declare(attr.key().to_string(), value);
    }
    for block in body.blocks() {
        match block.identifier() {
            "target" => {
                let name = label(block, file)?;
                let mut def = Def::default();
                for attr in block.body().attributes() {
                    let Some(key) = Key::named(attr.key()) else {
                        continue;
                    };
                    let where_ = || format!("{file}: target \"{name}\": {}", attr.key());
                    let value = scope.eval(attr.expr(), where_)?;
                    def.set(
                        key,
                        strings(value).map_err(|e| format!("{}: {e}", where_()))?,
                    );
                }
                cfg.target(&name, def);
            }
            "group" => {
                let name = label(block, file)?;
                if let Some(attr) = block.body().attributes().find(|a| a.key() == "targets") {
                    let value = scope.eval(attr.expr(), || format!("{file}: group \"{name}\""))?;
                    let members = strings(value)
                        .map_err(|e| format!("{file}: group \"{name}\": targets: {e}"))?;
                    cfg.groups.insert(name, members);
                }
            }
            // Variables are read above; functions defined in the file are not evaluated.
            "variable" => {}
            "function" => {
                return Err(format!(
                    "{file}: user-defined bake functions are not evaluated"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// What HCL expressions see: the variables (with their weights, to weigh an expression before evaluating
/// it) and bake's functions.
struct Scope<'a> {
    ctx: Context<'a>,
    sizes: HashMap<String, usize>,
    expansion: &'a Expansion,
}

impl Scope<'_> {
    fn declare(&mut self, name: String, value: hcl::Value) {
        // Measured when evaluated (or, from the environment, a string's length).
        let size = limits::weight(&value).unwrap_or(usize::MAX);
        self.sizes.insert(name.clone(), size);
        self.ctx.declare_var(name, value);
    }

    /// An expression's value; an error names `what` and stays on one line. It is weighed first: one that
    /// could expand past what is left of [`limits::EXPANSION_LIMIT`] is refused unevaluated. hcl-rs
    /// panics on some arithmetic (`1 % 0`): that too is an error naming the expression's place.
    fn eval(
        &self,
        expr: &hcl::Expression,
        what: impl Fn() -> String,
    ) -> Result<hcl::Value, String> {
        self.expansion
            .fits(estimate(expr, &|name| self.sizes.get(name).copied()), &what)?;
        let value = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            expr.evaluate(&self.ctx)
        })) {
            Ok(value) => value.map_err(|e| format!("{}: {}", what(), one_line(&e.to_string())))?,
            Err(_) => return Err(format!("{}: the expression cannot be evaluated", what())),
        };
        let size = limits::size(&value).map_err(|e| format!("{}: {e}", what()))?;
        self.expansion.take(size, what)?;
        Ok(value)
    }
}

fn label(block: &hcl::Block, file: &str) -> Result<String, String> {
    block
        .labels()
        .first()
        .map(|l| l.as_str().to_string())
        .ok_or_else(|| format!("{file}: a {} block without a name", block.identifier()))
}

/// A list of strings, or one string; a list element that is an object becomes a `key=value,…` spec (the
/// object form newer bake accepts for attest, cache-to and output).
fn strings(value: hcl::Value) -> Result<Vec<String>, String> {
    let items = match value {
        hcl::Value::Array(a) => a,
        hcl::Value::Null => return Ok(Vec::new()),
        other => vec![other],
    };
    items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| match v {
            hcl::Value::Object(o) => Ok(o
                .into_iter()
                .filter_map(|(k, v)| Some(format!("{k}={}", scalar(&v)?)))
                .collect::<Vec<_>>()
                .join(",")),
            other => scalar(&other)
                .ok_or_else(|| format!("expected strings, got {}", one_line(&other.to_string()))),
        })
        .collect()
}

fn scalar(v: &hcl::Value) -> Option<String> {
    match v {
        hcl::Value::String(s) => Some(s.clone()),
        hcl::Value::Number(n) => Some(n.to_string()),
        hcl::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A few of bake's standard functions, the ones tag expressions use most (lower, upper, trimprefix,
/// trimsuffix, replace, equal, notequal, format, formatlist, join); any other call is an error naming it.
fn declare_functions(ctx: &mut Context) {
    fn string_arg(args: &FuncArgs, i: usize) -> String {
        args[i].as_str().unwrap_or_default().to_string()
    }
    let s = || ParamType::String;
    ctx.declare_func(
        "lower",
        FuncDef::new(|a| Ok(string_arg(&a, 0).to_lowercase().into()), [s()]),
    );
    ctx.declare_func(
        "upper",
        FuncDef::new(|a| Ok(string_arg(&a, 0).to_uppercase().into()), [s()]),
    );
    ctx.declare_func(
        "trimprefix",
        FuncDef::new(
            |a| {
                let (v, p) = (string_arg(&a, 0), string_arg(&a, 1));
                Ok(v.strip_prefix(&p).unwrap_or(&v).to_string().into())
            },
            [s(), s()],
        ),
    );
    ctx.declare_func(
        "trimsuffix",
        FuncDef::new(
            |a| {
                let (v, p) = (string_arg(&a, 0), string_arg(&a, 1));
                Ok(v.strip_suffix(&p).unwrap_or(&v).to_string().into())
            },
            [s(), s()],
        ),
    );
    ctx.declare_func(
        "replace",
        FuncDef::new(
            |a| {
                Ok(string_arg(&a, 0)
                    .replace(&string_arg(&a, 1), &string_arg(&a, 2))
                    .into())
            },
            [s(), s(), s()],
        ),
    );
    ctx.declare_func(
        "equal",
        FuncDef::new(
            |a| Ok((a[0] == a[1]).into()),
            [ParamType::Any, ParamType::Any],
        ),
    );
    ctx.declare_func(
        "notequal",
        FuncDef::new(
            |a| Ok((a[0] != a[1]).into()),
            [ParamType::Any, ParamType::Any],
        ),
    );
    ctx.declare_func(
        "format",
        FuncDef::builder()
            .param(s())
            .variadic_param(ParamType::Any)
            .build(|a| {
                let args: Vec<hcl::Value> = a.variadic_args().cloned().collect();
                go_format(&string_arg(&a, 0), &args).map(Into::into)
            }),
    );
    ctx.declare_func(
        "formatlist",
        FuncDef::builder()
            .param(s())
            .variadic_param(ParamType::Any)
            .build(|a| {
                let args: Vec<hcl::Value> = a.variadic_args().cloned().collect();
                let lens: Vec<usize> = args
                    .iter()
                    .filter_map(|v| v.as_array().map(Vec::len))
                    .collect();
                let n = lens.first().copied().unwrap_or(1);
                if lens.iter().any(|&l| l != n) {
                    return Err("formatlist: the lists have different lengths".into());
                }
                (0..n)
                    .map(|i| {
                        let row: Vec<hcl::Value> = args
                            .iter()
                            .map(|v| v.as_array().map_or_else(|| v.clone(), |l| l[i].clone()))
                            .collect();
                        go_format(&string_arg(&a, 0), &row).map(hcl::Value::String)
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(hcl::Value::Array)
            }),
    );
    ctx.declare_func(
        "join",
        FuncDef::new(
            |a| {
                let sep = string_arg(&a, 0);
                let parts: Vec<String> = a[1]
                    .as_array()
                    .map(|v| v.iter().filter_map(scalar).collect())
                    .unwrap_or_default();
                Ok(parts.join(&sep).into())
            },
            [s(), ParamType::array_of(ParamType::Any)],
        ),
    );
}

/// Go's `fmt.Sprintf` for the verbs bake files use in tags: `%s`, `%d`, `%v` and `%%`.
fn go_format(spec: &str, args: &[hcl::Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s' | 'd' | 'v') => {
                let arg = args.next().ok_or("format: too few arguments")?;
                out.push_str(
                    &scalar(arg).ok_or("format: an argument is not a string, number or bool")?,
                );
            }
            Some(verb) => return Err(format!("format: the verb %{verb} is not read")),
            None => return Err("format: a lone % at the end".into()),
        }
    }
    Ok(out)
}

/// A parser's message on one line, its quote of the source cut short (a one-line file quotes all of it).
pub(super) fn one_line(s: &str) -> String {
    const SHOWN: usize = 300;
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

// --- bake JSON ------------------------------------------------------------------------------------------

fn read_json(
    cfg: &mut Config,
    expansion: &Expansion,
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let mut vars: HashMap<String, String> = HashMap::new();
    if let Some(vs) = doc["variable"].as_object() {
        for (name, v) in vs {
            let value = env(name).unwrap_or_else(|| match &v["default"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            });
            vars.insert(name.clone(), value);
        }
    }
    let interpolate = |s: &str| -> Result<String, String> {
        substitute(s, &|name| vars.get(name).cloned(), false, expansion)
            .map_err(|e| format!("{file}: {e}"))
    };
    if let Some(gs) = doc["group"].as_object() {
        for (name, g) in gs {
            let members = json_strings(&g["targets"], &interpolate)
                .map_err(|e| format!("{file}: group \"{name}\": {e}"))?;
            cfg.groups.insert(name.clone(), members);
        }
    }
    if let Some(ts) = doc["target"].as_object() {
        for (name, t) in ts {
            let mut def = Def::default();
            for key in Key::ALL {
                let value = &t[key.name()];
                if !value.is_null() {
                    let values = json_strings(value, &interpolate)
                        .map_err(|e| format!("{file}: target \"{name}\": {}: {e}", key.name()))?;
                    def.set(key, values);
                }
            }
            cfg.target(name, def);
        }
    }
    Ok(())
}

fn json_strings(
    v: &serde_json::Value,
    interpolate: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, String> {
    let items = match v {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    items
        .iter()
        .map(|i| match i {
            serde_json::Value::String(s) => interpolate(s),
            serde_json::Value::Object(o) => Ok(o
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_string)
                    )
                })
                .collect::<Vec<_>>()
                .join(",")),
            other => Ok(other.to_string()),
        })
        .collect()
}

// --- compose --------------------------------------------------------------------------------------------

/// Each service with a `build` is a target named after it; `image` and `build.tags` are its tags; the
/// `x-bake` extension under `build` sets bake's own attributes. The `default` group is every such service.
fn read_compose(
    cfg: &mut Config,
    expansion: &Expansion,
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("{file}: {}", one_line(&e.to_string())))?;
    let Some(services) = doc.get("services").and_then(|s| s.as_mapping()) else {
        return Ok(());
    };
    let interpolate =
        |s: &str| substitute(s, env, true, expansion).map_err(|e| format!("{file}: {e}"));
    for (name, service) in services {
        let Some(name) = name.as_str() else { continue };
        let Some(build) = service.get("build") else {
            continue;
        };
        let list = |v: Option<&serde_yaml::Value>| -> Result<Option<Vec<String>>, String> {
            let Some(v) = v else { return Ok(None) };
            let items: Vec<&serde_yaml::Value> = match v.as_sequence() {
                Some(seq) => seq.iter().collect(),
                None => vec![v],
            };
            items
                .into_iter()
                .filter_map(|i| i.as_str())
                .map(&interpolate)
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        let mut tags = list(service.get("image"))?.unwrap_or_default();
        let mut def = Def::default();
        if build.is_mapping() {
            tags.extend(list(build.get("tags"))?.unwrap_or_default());
            for (key, name) in [(Key::Platforms, "platforms"), (Key::CacheTo, "cache_to")] {
                if let Some(values) = list(build.get(name))? {
                    def.set(key, values);
                }
            }
            if let Some(x) = build.get("x-bake") {
                tags.extend(list(x.get("tags"))?.unwrap_or_default());
                for key in [Key::Platforms, Key::CacheTo, Key::Output, Key::Attest] {
                    if let Some(values) = list(x.get(key.name()))? {
                        def.set(key, values);
                    }
                }
            }
        }
        if !tags.is_empty() {
            def.set(Key::Tags, tags);
        }
        cfg.target(name, def);
        let default = cfg.groups.entry("default".into()).or_default();
        if !default.iter().any(|d| d == name) {
            default.push(name.to_string());
        }
    }
    Ok(())
}

/// `${NAME}` (and with `compose`: `${NAME:-default}`, `${NAME-default}`, `$NAME`, `$$`) replaced from
/// `lookup`; an unknown name is empty, as in compose and bake.
pub(super) fn substitute(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    compose: bool,
    expansion: &Expansion,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    let what = || "an interpolated string".to_string();
    while let Some(i) = rest.find('$') {
        expansion.fits(out.len(), &what)?;
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in '{s}'"))?;
            let expr = &body[..end];
            let value = match (compose, expr.split_once(":-"), expr.split_once('-')) {
                (true, Some((name, default)), _) => lookup(name)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| default.to_string()),
                (true, None, Some((name, default))) => {
                    lookup(name).unwrap_or_else(|| default.to_string())
                }
                _ if expr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    lookup(expr).unwrap_or_default()
                }
                _ => {
                    return Err(format!(
                        "'${{{expr}}}' in '{s}' is not a variable reference this reads"
                    ));
                }
            };
            out.push_str(&value);
            rest = &body[end + 1..];
        } else if compose && after.starts_with('$') {
            out.push('$');
            rest = &after[1..];
        } else if compose {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(&lookup(&after[..len]).unwrap_or_default());
            if len == 0 {
                out.push('$');
            }
            rest = &after[len..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    expansion.take(out.len(), what)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
