//! The architecture as ARCHITECTURE.md states it, checked against the tree:
//! the crate edges its table lists are exactly the manifests' dependencies,
//! no crate has an import cycle between its modules, no source file passes
//! 800 lines, and `domain` holds neither I/O nor wire formats.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `(package name, manifest dir)` of every workspace member.
fn members() -> Vec<(String, PathBuf)> {
    let root: toml::Table = std::fs::read_to_string(workspace().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    root["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| {
            let dir = workspace().join(member.as_str().unwrap());
            let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
                .unwrap()
                .parse()
                .unwrap();
            (
                manifest["package"]["name"].as_str().unwrap().to_string(),
                dir,
            )
        })
        .collect()
}

/// Our crates a manifest's `[dependencies]` names, by short name (`store` for `certsentry-store`).
fn our_dependencies(dir: &Path) -> BTreeSet<String> {
    let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|deps| {
            deps.keys()
                .filter_map(|k| k.strip_prefix("certsentry-").map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// ARCHITECTURE.md's edge table: `| \`certsentry-x\` | a, b |` rows.
fn documented_edges() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).unwrap();
    let start = text
        .find("| crate | depends on |")
        .expect("ARCHITECTURE.md has the crate edge table");
    text[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`').to_string();
            let deps = match cells[2] {
                "nothing of ours" => BTreeSet::new(),
                list => list.split(',').map(|d| d.trim().to_string()).collect(),
            };
            (name, deps)
        })
        .collect()
}

#[test]
fn architecture_md_lists_every_crate_edge_as_the_manifests_have_it() {
    let documented = documented_edges();
    let actual: BTreeMap<String, BTreeSet<String>> = members()
        .into_iter()
        .map(|(name, dir)| (name, our_dependencies(&dir)))
        .collect();
    assert_eq!(
        documented, actual,
        "ARCHITECTURE.md's edge table (left) differs from the manifests (right)"
    );
    // The edges themselves form no cycle (cargo refuses one; this names it).
    let graph: BTreeMap<String, BTreeSet<String>> = actual
        .iter()
        .map(|(name, deps)| {
            let short = name.strip_prefix("certsentry-").unwrap_or("certsentry");
            (short.to_string(), deps.clone())
        })
        .collect();
    assert_eq!(find_cycle(&graph), None);
}

/// The first path of each `crate::` reference: `crate::{a::B, c}` gives `a` and `c`.
fn crate_references(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 1;
                let mut item = String::new();
                let mut items = Vec::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                        _ if depth == 1 => item.push(c),
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                }
                items.push(item);
                found.extend(
                    items
                        .iter()
                        .filter_map(|i| i.trim().split("::").next().map(str::to_string))
                        .filter(|s| !s.is_empty()),
                );
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.push(name);
            }
        }
    }
    found
}

/// The module graph of a crate at file level: `alert.rs` and
/// `alert/rules.rs` are the module `alert`. Names the root re-exports
/// (`crate::EventId`) count as the module that defines them.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let module_of = |path: &Path| -> String {
        let relative = path.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        first.to_string_lossy().trim_end_matches(".rs").to_string()
    };
    let files = rust_files(src);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut reexported = BTreeMap::new();
    if let Ok(lib) = std::fs::read_to_string(src.join("lib.rs")) {
        for statement in lib.split(';') {
            let Some(path) = statement.trim().strip_prefix("pub use ") else {
                continue;
            };
            let Some((module, names)) = path.split_once("::") else {
                continue;
            };
            for name in names.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if !name.is_empty() {
                    reexported.insert(name.to_string(), module.to_string());
                }
            }
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file);
        if !modules.contains(&from) {
            continue;
        }
        let source = std::fs::read_to_string(file).unwrap();
        for name in crate_references(&source) {
            let to = if modules.contains(&name) {
                Some(name)
            } else {
                reexported.get(&name).cloned()
            };
            if let Some(to) = to.filter(|to| *to != from && modules.contains(to)) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut checked = 0;
    for (name, dir) in members() {
        let graph = module_graph(&dir.join("src"));
        assert_eq!(find_cycle(&graph), None, "{name}: import cycle");
        checked += 1;
    }
    assert!(checked >= 12, "every crate was read");
    // The check sees real edges: ct imports the pipeline from sources.
    let ct = module_graph(&workspace().join("crates/ct/src"));
    assert!(ct["sources"].contains("pipeline"), "{ct:?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    assert_eq!(
        crate_references("use crate::{alert::{Event, Draft}, ct};\nlet x = crate::time::now();"),
        vec!["alert", "ct", "time"]
    );
}

#[test]
fn no_source_file_is_longer_than_800_lines() {
    let mut long = Vec::new();
    for (_, dir) in members() {
        for file in rust_files(&dir.join("src")) {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > 800 {
                long.push(format!("{} ({lines})", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "over 800 lines: {long:?}");
}

#[test]
fn domain_has_no_io_and_no_wire_formats() {
    let domain = workspace().join("crates/domain");
    let manifest = std::fs::read_to_string(domain.join("Cargo.toml")).unwrap();
    for io in ["tokio", "reqwest", "axum", "sqlx", "hyper", "lettre"] {
        assert!(!manifest.contains(io), "domain depends on {io}");
    }
    for file in rust_files(&domain.join("src")) {
        let source = std::fs::read_to_string(&file).unwrap();
        // Request bodies (`*Input`, serde's rules for clients) and payload
        // formats (Cert Spotter's html_url, rendered bodies) live in api and
        // notify. (The operator's plan table is configuration, not a wire format.)
        for marker in ["Input {", "html_url\":", "\"_formats\"", "fn payload("] {
            assert!(
                !source.contains(marker),
                "{} holds a wire format ({marker})",
                file.display()
            );
        }
    }
}
