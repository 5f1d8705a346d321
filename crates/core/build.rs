// SPDX-License-Identifier: MIT OR Apache-2.0
// sqlx's `migrate!` embeds the migrations at compile time, but stable Rust cannot tell cargo it
// read them: a changed or added migration must rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
