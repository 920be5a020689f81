//! `wasm-split RAW_WASM MAIN_OUT OUT_DIR MAIN_JS LINK_JS`
//!
//! Splits the wasm that cargo built (linked with `--emit-relocs`) at its `#[lazy]`
//! functions, before wasm-bindgen: the main module goes to MAIN_OUT (wasm-bindgen's input),
//! the lazy modules and the JS that loads them (LINK_JS, imported by the main module) into
//! OUT_DIR. MAIN_JS is wasm-bindgen's JS for the main module, as LINK_JS imports it (the page
//! must import the same URL, or the app would start twice). Trunk has no such step yet
//! (trunk-rs/trunk#1022); cargo-leptos calls the same library.

use std::path::PathBuf;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [raw, main_out, out_dir, main_js, link_js] = arguments.as_slice() else {
        bail!("usage: wasm-split RAW_WASM MAIN_OUT OUT_DIR MAIN_JS LINK_JS");
    };
    let wasm = std::fs::read(raw).with_context(|| format!("reading {raw}"))?;
    let main_out = PathBuf::from(main_out);
    let out_dir = PathBuf::from(out_dir);
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = &out_dir;
    options.main_out_path = &main_out;
    options.main_module = main_js;
    options.link_name = link_js;
    let split = wasm_split_cli_support::transform(options)
        .map_err(|error| anyhow::anyhow!("{error:?}"))
        .context("splitting the wasm")?;
    for module in &split.split_modules {
        println!("{}", module.display());
    }
    Ok(())
}
