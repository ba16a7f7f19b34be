//! What the README promises a new user (issue 15, items 15 and 16), checked against the files
//! themselves: the quick start is two commands, its test command builds no optional feature and
//! is what CI runs, and the facade's docs inline every re-exported crate.

use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// The commands of the first `sh` block after `## Quick start`, without their comments.
fn quick_start_commands() -> Vec<String> {
    let readme = read("README.md");
    let section = &readme[readme.find("## Quick start").expect("a Quick start section")..];
    let block = section.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("an sh block");
    block.lines().map(|l| l.split('#').next().unwrap().trim().to_string()).filter(|l| !l.is_empty()).collect()
}

#[test]
fn the_quick_start_is_two_commands_and_the_test_one_builds_no_optional_feature() {
    let commands = quick_start_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    // The same profile for both, so that the test command reuses the run's build.
    assert!(commands[0].starts_with("cargo run --example quickstart"), "{commands:?}");
    let test = &commands[1];
    assert!(test.starts_with("cargo test --workspace"), "{test}");
    assert!(!test.contains("--all-features") && !test.contains("--features"), "{test}");
}

#[test]
fn ci_runs_the_readme_test_command_and_tests_the_optional_features_separately() {
    let ci = read(".ci/run");
    let ci_commands: Vec<&str> = ci.lines().map(|l| l.split('#').next().unwrap().trim()).collect();
    let test = &quick_start_commands()[1];
    assert!(ci_commands.contains(&test.as_str()), "CI must run the README's `{test}`:\n{ci}");
    for member in ["core", "autograd", "layers", "optim", "data", "metrics"] {
        if read(&format!("{member}/Cargo.toml")).contains("[features]") {
            let package = format!("-p kensho-{member}");
            let covered = ci_commands.iter().any(|c| {
                c.starts_with("cargo test")
                    && c.contains("--all-features")
                    && (c.contains(&package) || c.contains("--workspace"))
            });
            assert!(covered, "CI must test the optional features of kensho-{member}:\n{ci}");
        }
    }
    // Each optional feature of the facade has a CI line testing the facade with it.
    let manifest = read("Cargo.toml");
    let features = manifest.split("[features]").nth(1).unwrap_or("").split("\n[").next().unwrap_or("");
    for feature in features.lines().filter_map(|l| l.split_once('=')).map(|(name, _)| name.trim()) {
        if feature == "default" || feature.is_empty() {
            continue;
        }
        let covered = ci_commands.iter().any(|c| {
            c.starts_with("cargo test")
                && c.split_whitespace().collect::<Vec<_>>().windows(2).any(|w| w == ["-p", "kensho"])
                && (c.contains("--all-features") || c.contains(&format!("--features {feature}")))
        });
        assert!(covered, "CI must test the facade's optional feature `{feature}`:\n{ci}");
    }
}

#[test]
fn the_facade_docs_inline_every_reexported_crate_and_say_how_to_open_them() {
    let lib = read("src/lib.rs");
    let lines: Vec<&str> = lib.lines().collect();
    let reexports: Vec<usize> =
        (0..lines.len()).filter(|&i| lines[i].starts_with("pub use kensho_") && lines[i].contains(" as ")).collect();
    assert_eq!(reexports.len(), 6, "the six crates below the facade");
    for i in reexports {
        assert_eq!(lines[i - 1], "#[doc(inline)]", "`{}` must be inlined into the facade's docs", lines[i]);
        let module = lines[i].trim_end_matches(';').rsplit(' ').next().unwrap();
        assert!(lib.contains(&format!("//! | [`{module}`] |")), "the front page's table must link `{module}`");
    }
    assert!(read("README.md").contains("cargo doc -p kensho --open"));
}
