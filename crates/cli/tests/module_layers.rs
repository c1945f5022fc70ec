//! The binary's modules form one-way layers (config and value parsers, then
//! resolution, then collection, then commands): no module may reach, through
//! `crate::` paths, a module that reaches back to it. A cycle would mean two
//! modules that can only be understood (and changed) together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The modules `main.rs` declares, each with the modules its files name
/// through `crate::`: `src/m.rs` and, for a module with submodules, the
/// files in `src/m/` (a submodule belongs to its parent's layer). Comments
/// are left out (a doc link is not a dependency), and so is the test code
/// from `#[cfg(test)]` on: a test may use any layer.
fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let main = std::fs::read_to_string(src.join("main.rs")).unwrap();
    let modules: Vec<String> =
        main.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)).collect();
    assert!(modules.len() >= 8, "main.rs declares {modules:?}");
    let mut graph = Graph::new();
    for m in &modules {
        let mut files = vec![src.join(format!("{m}.rs"))];
        if let Ok(dir) = std::fs::read_dir(src.join(m)) {
            files.extend(dir.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "rs")));
        }
        let mut deps = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            deps.extend(crate_references(code).into_iter().filter(|d| d != m && modules.contains(d)));
        }
        graph.insert(m.clone(), deps);
    }
    graph
}

/// The first segment of every `crate::a::…` and `crate::{a, b::…}` path.
fn crate_references(text: &str) -> BTreeSet<String> {
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            let mut first_segment = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(std::mem::take(&mut item));
                        first_segment = true;
                    }
                    ':' if depth == 0 => first_segment = false,
                    c if depth == 0 && first_segment && (c.is_alphanumeric() || c == '_') => item.push(c),
                    _ => {}
                }
            }
            out.insert(item);
        } else {
            out.insert(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    out.remove("");
    out
}

/// A cycle, as the modules along it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(node: &str, graph: &Graph, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_cli_modules_import_each_other_one_way() {
    let graph = module_graph();
    // The parser sees the edges that are there, so an empty graph cannot pass.
    let seen =
        [("commands", "resolve"), ("collect", "live"), ("config", "evidence"), ("config", "values"), ("ad", "config")];
    for (from, to) in seen {
        assert!(graph[from].contains(to), "{from} -> {to} not seen: {graph:?}");
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle among crates/cli/src modules: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_reference_parser_and_cycle_finder_see_cycles() {
    let refs = crate_references(
        "use crate::{args::InputArgs, config::{self, Trust}, live};\nuse crate::ad::X; // crate::menu\nlet x = crate::graph::f();",
    );
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["ad", "args", "config", "graph", "live"]);
    let graph: Graph = [("a", &["b"][..]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    let mut acyclic = graph.clone();
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&acyclic), None);
}
