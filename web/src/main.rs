//! The trunk entry point (see `lib.rs`).

/// The page and its worker load the same wasm: each starts its own side.
#[cfg(target_arch = "wasm32")]
fn main() {
    if rwkv_lens_web::dom::in_window() {
        rwkv_lens_web::app::start();
    } else {
        rwkv_lens_web::worker::start();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "rwkv-lens-web runs in a browser: `make web` builds web/dist, `make serve` serves it"
    );
}
