//! The trunk entry point (see `lib.rs`).

/// The page and its worker load the same wasm: each starts its own side.
#[cfg(target_arch = "wasm32")]
fn main() {
    use wasm_bindgen::JsCast;
    if js_sys::global().dyn_ref::<web_sys::Window>().is_some() {
        rwkv_lens_web::page::start();
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
