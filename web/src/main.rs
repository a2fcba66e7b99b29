//! The trunk entry point (see `lib.rs`).

#[cfg(target_arch = "wasm32")]
fn main() {
    rwkv_lens_web::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "rwkv-lens-web runs in a browser: `make web` builds web/dist, `make serve` serves it"
    );
}
