// Read by build.rs and tests/capabilities.rs (with `include!`): the window's commands, from the
// one list in src/lib.rs.

/// The command names in `generate_handler![commands::a, commands::b, …]`.
fn handler_commands(lib_rs: &str) -> Vec<String> {
    let start = lib_rs
        .find("generate_handler![")
        .expect("src-tauri/src/lib.rs has no generate_handler!");
    let body = &lib_rs[start + "generate_handler![".len()..];
    let body = &body[..body.find(']').expect("generate_handler! is not closed")];
    body.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| c.rsplit("::").next().unwrap_or(c).to_string())
        .collect()
}
