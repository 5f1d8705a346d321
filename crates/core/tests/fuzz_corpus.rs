//! Replays the fuzz corpora (`crates/core/fuzz/corpus/<target>`) through the fuzz entry points on
//! stable Rust, so every input the fuzzer kept, and every crash it found, stays a regression test.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "{target}: only {} inputs in {}",
        files.len(),
        dir.display()
    );
    for file in files {
        let data = std::fs::read(&file).expect("corpus file");
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("{target} fails on {}", file.display());
        }
    }
}

#[test]
fn callback_url_corpus() {
    replay("callback_url", ca_core::fuzzing::callback_url);
}

#[test]
fn profile_corpus() {
    replay("profile", ca_core::fuzzing::profile);
}

#[test]
fn discovery_corpus() {
    replay("discovery", ca_core::fuzzing::discovery);
}

#[test]
fn token_response_corpus() {
    replay("token_response", ca_core::fuzzing::token_response);
}
