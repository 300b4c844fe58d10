//! The guest side of the ABI, used by [`crate::export_policy!`]: the host calls `oms_alloc`,
//! writes the input document there, calls the hook with `(ptr, len)` and reads the output
//! document from the `(ptr << 32) | len` the hook returns. Each evaluation runs in a fresh
//! instance, so nothing here is ever freed.

use crate::codec::Document;

/// Reserves `len` bytes of linear memory for an input document; 0 when `len` is negative.
pub fn alloc(len: i32) -> i32 {
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    let buf = vec![0u8; len].leak();
    buf.as_mut_ptr() as usize as i32
}

/// Decodes the input at `(ptr, len)`, runs the hook and returns its encoded output as
/// `(ptr << 32) | len`; 0 when the input does not decode (the host records a failure).
pub fn evaluate<I: Document, O: Document>(ptr: i32, len: i32, hook: fn(I) -> O) -> i64 {
    let input = match I::decode(input_bytes(ptr, len)) {
        Ok(input) => input,
        Err(e) => {
            crate::log(&format!("input does not decode: {e}"));
            return 0;
        }
    };
    let out = hook(input).encode().leak();
    ((out.as_ptr() as usize as i64) << 32) | out.len() as i64
}

#[cfg(target_arch = "wasm32")]
fn input_bytes(ptr: i32, len: i32) -> &'static [u8] {
    // SAFETY: the host wrote `len` bytes at `ptr`, a buffer `alloc` leaked for it.
    #[allow(unsafe_code)]
    unsafe {
        core::slice::from_raw_parts(ptr as usize as *const u8, len as usize)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn input_bytes(_ptr: i32, _len: i32) -> &'static [u8] {
    // Outside WebAssembly a plugin's hooks are called as plain functions (see `testing`).
    &[]
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "oms")]
extern "C" {
    #[link_name = "log"]
    fn host_log(ptr: i32, len: i32);
}

/// Sends a log line to the host.
pub fn log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: the host reads `len` bytes at `ptr` and copies them; nothing is retained.
    #[allow(unsafe_code)]
    unsafe {
        host_log(message.as_ptr() as usize as i32, message.len() as i32);
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[plugin log] {message}");
}
