//! Writes the window's TypeScript types: `cargo run -p ca-core --example gen-bindings -- ui/src/bindings.ts`.
fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ui/src/bindings.ts".into());
    std::fs::write(&out, ca_core::bindings::typescript()).expect("write bindings");
}
