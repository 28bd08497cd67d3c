// `sqlx::migrate!` embeds the migrations directory; a new file there must rebuild this crate.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
