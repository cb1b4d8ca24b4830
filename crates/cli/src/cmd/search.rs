//! `zks search`: full-text search over this home's history.

use std::process::ExitCode;

use clap::Args;
use zks_node::Node;

use crate::output;

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// The words to look for (all of them; the last may be the start of a word).
    text: String,
    /// Only the conversation with this contact.
    #[arg(long, value_name = "NAME")]
    contact: Option<String>,
    /// Most messages to show, newest first.
    #[arg(long, default_value_t = 50, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=zks_node::MAX_SEARCH_HITS as i64))]
    limit: u16,
    /// Print one JSON object per message.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(node: &Node, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let hits = node.search(&args.text, args.contact.as_deref(), args.limit.into())?;
    for hit in &hits {
        if args.json {
            output::json(hit)?;
        } else {
            let arrow = if hit.outgoing { "->" } else { "<-" };
            let file = if hit.kind == "file" { "[file] " } else { "" };
            let at = crate::cmd::messaging::utc_minute(hit.created_at.max(0) as u64);
            println!(
                "{:>5} {arrow} {} ({at}): {file}{}",
                hit.message_id, hit.contact, hit.snippet
            );
        }
    }
    if hits.is_empty() && !args.json {
        println!("no message matches");
    }
    Ok(ExitCode::SUCCESS)
}
