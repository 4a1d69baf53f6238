//! `certsentry ct …`: the CT log positions `serve` keeps in the database.
//! A log's position decides where tailing resumes; forgetting it makes the
//! next start follow `--ct-start` / `--ct-log-start` again.

use certsentry_domain::time::format_ms;
use certsentry_store::Store;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum CtCommand {
    /// List every tailed log's stored position.
    Logs,
    /// Forget a log's position (by log id): its next start follows --ct-start / --ct-log-start.
    Forget { log_id: String },
}

pub async fn run(store: &dyn Store, command: CtCommand) -> anyhow::Result<()> {
    match command {
        CtCommand::Logs => {
            println!(
                "{:<46} {:>12} {:>14} {:<25}",
                "LOG ID", "POSITION", "VERIFIED TO", "UPDATED"
            );
            for log in store.list_log_positions().await? {
                let verified = certsentry_ct::log::verified_size(&log.position.state)
                    .map(|size| size.to_string())
                    .unwrap_or_else(|| "unchecked".into());
                println!(
                    "{:<46} {:>12} {:>14} {:<25}",
                    log.log_id,
                    log.position.position,
                    verified,
                    format_ms(log.updated_at)
                );
            }
        }
        CtCommand::Forget { log_id } => {
            if store.delete_log_position(&log_id).await? {
                println!(
                    "Forgot the position of log {log_id}; its next start follows the start rules."
                );
            } else {
                anyhow::bail!("no stored position for log {log_id:?} (see `certsentry ct logs`)");
            }
        }
    }
    Ok(())
}
