// Declares the app's own commands so capabilities can allow exactly them (and nothing else). The
// one list is `generate_handler!` in src/lib.rs; it is read from there, so the two cannot differ
// (tests/capabilities.rs checks that capabilities/main.json allows exactly these).

include!("handler_commands.rs");

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/src/lib.rs");
    let lib_rs =
        std::fs::read_to_string("src-tauri/src/lib.rs").expect("read src-tauri/src/lib.rs");
    let commands = handler_commands(&lib_rs);
    let commands: Vec<&'static str> = commands
        .into_iter()
        .map(|c| &*Box::leak(c.into_boxed_str()))
        .collect();
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(
                tauri_build::AppManifest::new().commands(Box::leak(commands.into_boxed_slice())),
            ),
    )
    .expect("tauri build script failed");
}
