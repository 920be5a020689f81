use clap::Parser;

// mimalloc (v3) in place of glibc's malloc: 9% fewer instructions per session check, about 3%
// more of them per second (BENCHMARKS.md, "The allocator"). The binary's alone: tests use glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    api::cli::run(api::cli::Cli::parse()).await
}
