use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    api::cli::run(api::cli::Cli::parse()).await
}
