//! The crate's modules import each other in one direction only (DESIGN.md, "Data flow").
//!
//! Each file under `src/` is read as text; every `crate::…` path outside comments and outside a
//! `#[cfg(test)] mod` block counts as an import of the top-level module it names (a name the
//! crate root re-exports, such as `crate::Alert`, counts as its module). A test module may reach
//! higher up (to open a real ledger, say); the library may not.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Modules a module must never import, with the reason.
const FORBIDDEN: &[(&str, &[&str], &str)] = &[
    (
        "alert",
        &["rule", "output", "publisher", "processor", "registry"],
        "an alert is data: rules make it, publishers and outputs read it",
    ),
    (
        "creds",
        &["processor"],
        "the stores, the codec and the cache serve the processor, which sits above them; the \
         provider trait they implement is `output`'s",
    ),
    (
        "config",
        &["creds", "processor", "output", "ledger"],
        "the settings types are read by the modules they configure",
    ),
];

/// Modules only a few may import, with those few and the reason.
const READERS: &[(&str, &[&str], &str)] = &[
    (
        "registry",
        &["cli", "lib", "__private", "testing"],
        "it lists every rule, publisher and output, so it sits above them: read a registered \
         item from its own module (`rule`, `publisher`, `output`)",
    ),
    (
        "cli",
        &["lib"],
        "the commands and the Lambda entry are the top: nothing below calls them",
    ),
];

/// Each top-level module with the modules it imports (itself excluded), and the files that do.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<PathBuf>>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to: `lib` for the crate root, `__private` for
/// `private.rs`.
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    match first.strip_suffix(".rs").unwrap_or(&first) {
        "private" => "__private".to_owned(),
        name => name.to_owned(),
    }
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The library code of `text`: without comment lines and `#[cfg(test)] mod … { … }` blocks
/// (rustfmt indents their body, so the first `}` in column 0 closes them).
fn library_code(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]"
            && !line.starts_with(' ')
            && lines.peek().is_some_and(|next| next.starts_with("mod "))
        {
            // `mod tests;` is a file of its own; `mod tests {` runs to its closing brace.
            if lines
                .next()
                .is_some_and(|declaration| declaration.ends_with('{'))
            {
                for skipped in lines.by_ref() {
                    if skipped == "}" {
                        break;
                    }
                }
            }
            continue;
        }
        if !trimmed.starts_with("//") {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

/// The first path segments after each `crate::` in `code`, groups (`crate::{a::X, b}`) included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        found.insert(ident(&group[i..]));
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.remove("");
    found
}

/// What `lib.rs` re-exports from its modules (`pub use alert::Alert;` gives `Alert -> alert`).
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in lib.split(';') {
        // The `pub use` may follow attributes and comments, or sit in a module (the prelude).
        let Some(at) = statement
            .match_indices("pub use ")
            .map(|(at, _)| at)
            .find(|&at| statement[..at].ends_with(['\n', ' ']) || at == 0)
        else {
            continue;
        };
        let rest = &statement[at + "pub use ".len()..];
        let rest = rest.strip_prefix("crate::").unwrap_or(rest);
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.rsplit("::").next().unwrap_or(item).trim();
            names.insert(name.to_owned(), module.trim().to_owned());
        }
    }
    names
}

fn graph() -> Graph {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|file| module_of(file.strip_prefix(&root).unwrap()))
        .collect();
    let reexports = root_reexports(&fs::read_to_string(root.join("lib.rs")).unwrap());
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().to_owned();
        let from = module_of(&relative);
        if from == "layers" {
            // This test: its strings are examples, not imports.
            continue;
        }
        let code = library_code(&fs::read_to_string(&file).unwrap());
        for segment in crate_paths(&code) {
            let to = if modules.contains(&segment) {
                segment
            } else if let Some(module) = reexports.get(&segment).filter(|m| modules.contains(*m)) {
                // `crate::Alert`: a re-export of one of the crate's modules.
                module.clone()
            } else {
                continue;
            };
            if to != from {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(relative.clone());
            }
        }
    }
    graph
}

fn files(files: &BTreeSet<PathBuf>) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The modules that reach each other through imports (strongly connected components of more
/// than one module), each with the imports inside it: every loop lies within one of them.
fn loops(graph: &Graph) -> Vec<String> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(module) = todo.pop() {
            for next in graph.get(&module).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|module| (module, reach(module))).collect();
    let mut reported = BTreeSet::new();
    let mut found = Vec::new();
    for (module, reached) in &reaches {
        let component: BTreeSet<&String> = reached
            .iter()
            .filter_map(|other| reaches.get_key_value(other))
            .filter(|(_, back)| back.contains(*module))
            .map(|(other, _)| *other)
            .collect();
        if component.len() < 2 || !reported.insert(component.clone()) {
            continue;
        }
        let edges: Vec<String> = component
            .iter()
            .flat_map(|from| {
                graph[*from]
                    .iter()
                    .filter(|(to, _)| component.contains(to))
                    .map(move |(to, by)| format!("  {from} -> {to} ({})", files(by)))
            })
            .collect();
        let names: Vec<&str> = component.iter().map(|m| m.as_str()).collect();
        found.push(format!("{}:\n{}", names.join(", "), edges.join("\n")));
    }
    found
}

#[test]
fn no_module_imports_one_it_must_not() {
    let graph = graph();
    let mut problems = Vec::new();
    for (from, imports) in &graph {
        for (to, by) in imports {
            for (module, readers, why) in READERS {
                if to == module && !readers.contains(&from.as_str()) {
                    problems.push(format!(
                        "{from} imports {to} ({}): only {readers:?} may; {why}",
                        files(by)
                    ));
                }
            }
            for (module, forbidden, why) in FORBIDDEN {
                if from == module && forbidden.contains(&to.as_str()) {
                    problems.push(format!("{from} imports {to} ({}): {why}", files(by)));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_modules_import_each_other_in_no_loop() {
    let graph = graph();
    let found = loops(&graph);
    assert!(found.is_empty(), "import loops:\n{}", found.join("\n"));
}

#[test]
fn the_reader_sees_imports_in_every_form() {
    let code = library_code(
        "use crate::alert::Alert;\n\
         // use crate::commented::Out;\n\
         fn f() { crate::registry().rules(); }\n\
         use crate::{config::{A, B}, output::X};\n\
         let x = $crate::macro_path;\n\
         #[cfg(test)]\n\
         mod tests {\n    use crate::ledger::L;\n}\n\
         use crate::text::t;\n",
    );
    let paths: Vec<_> = crate_paths(&code).into_iter().collect();
    assert_eq!(
        paths,
        ["alert", "config", "output", "registry", "text"],
        "{code}"
    );
    let reexports = root_reexports(
        "pub use alert::Alert;\n#[cfg(feature = \"aws\")]\npub use cli::lambda;\n\
         /// Docs.\npub mod prelude {\n    pub use crate::rule::{Context, Record};\n}",
    );
    assert_eq!(reexports["Alert"], "alert");
    assert_eq!(reexports["lambda"], "cli");
    assert_eq!(reexports["Record"], "rule");
    // The real tree is read: outputs read alerts, and `crate::Alert` in the crate root's
    // re-exports counts as `alert`.
    let real = graph();
    assert!(real["output"].contains_key("alert"), "{real:?}");
    assert!(real["outputs"].contains_key("output"), "{real:?}");
    assert_eq!(
        root_reexports(&fs::read_to_string(src().join("lib.rs")).unwrap())["Alert"],
        "alert"
    );
    let edge = |to: &str| (to.to_owned(), BTreeSet::from([PathBuf::from("f.rs")]));
    let graph = Graph::from([
        ("a".to_owned(), BTreeMap::from([edge("b")])),
        ("b".to_owned(), BTreeMap::from([edge("c")])),
        ("c".to_owned(), BTreeMap::from([edge("a"), edge("d")])),
        ("d".to_owned(), BTreeMap::new()),
    ]);
    assert_eq!(
        loops(&graph),
        ["a, b, c:\n  a -> b (f.rs)\n  b -> c (f.rs)\n  c -> a (f.rs)"]
    );
}
