//! The example plugins as real `.wasm` modules: built once per test run from `plugins/`
//! (`cargo build --target wasm32-unknown-unknown --release`, into a target directory of their
//! own so the build never waits on the one running the tests), and hostile modules in
//! WebAssembly text.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The Rust example plugins (package names).
pub const EXAMPLES: [&str; 3] = ["default-policy", "free-size-exchange", "whole-set-bulky"];

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("plugins-wasm")
}

/// Builds the examples (once per test binary) and returns their directory.
fn built() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = out_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
            .arg("--target-dir")
            .arg(&dir);
        for p in EXAMPLES {
            cmd.args(["-p", p]);
        }
        let out = cmd
            .output()
            .expect("run cargo to build the example plugins");
        assert!(
            out.status.success(),
            "building the example plugins failed (is the target installed? \
             `rustup target add wasm32-unknown-unknown`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("wasm32-unknown-unknown/release")
    })
}

/// The bytes of an example plugin (`free-size-exchange`).
pub fn example(package: &str) -> Vec<u8> {
    let file = built().join(format!("{}.wasm", package.replace('-', "_")));
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The example written by hand in WebAssembly text, following only the docs.
pub fn flat_fee() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plugins/examples/wat-flat-fee/policy.wat"
    );
    wat::parse_file(path).expect("policy.wat assembles")
}

/// A module from WebAssembly text.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("test module assembles")
}

/// `bytes` with a custom section appended: the same code under another SHA-256, so the host
/// compiles it afresh. Used by the plugin and load benchmarks (which include this file).
#[allow(dead_code)]
pub fn distinct(bytes: &[u8], nonce: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"oms-bench";
    let mut content = Vec::new();
    leb(name.len(), &mut content);
    content.extend_from_slice(name);
    content.extend_from_slice(nonce.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0);
    leb(content.len(), &mut out);
    out.extend_from_slice(&content);
    out
}
