//! `request`: a call to the account's API made by the app for a program, like `gh api`. The
//! token (and the proof of the device's key, for bound tokens) never leaves this process; the
//! reply's body goes to standard output as the server sent it, less any token it echoed.

use std::io::{Read, Write};

use ca_core::approval::Purpose;
use ca_core::consumer::{Consumer, ReadKind};
use ca_core::probe::ApiRequest;
use ca_core::text::for_terminal as safe;
use ca_core::{Engine, Error};

use super::policy::{self, Asking};
use super::{Failure, Outcome};
use crate::args::RequestArgs;

/// The most a request body read from a file or standard input may be.
const MAX_BODY: u64 = 64 * 1024 * 1024;

fn read_body(data: &str) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    let too_big = || {
        Error::invalid_input(
            "the request body is larger than 64 MiB",
            "send a smaller body",
        )
    };
    if data == "-" {
        std::io::stdin()
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| {
                Error::invalid_input("could not read the body from standard input", e.to_string())
            })?;
    } else if let Some(path) = data.strip_prefix('@') {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_BODY + 1).read_to_end(&mut body))
            .map_err(|e| {
                Error::invalid_input(
                    format!("could not read the body from {}", safe(path)),
                    e.to_string(),
                )
            })?;
    } else {
        return Err(Error::invalid_input(
            "--data takes @FILE or - (standard input)",
            "write the body to a file, or pipe it in with --data -",
        ));
    }
    if body.len() as u64 > MAX_BODY {
        return Err(too_big());
    }
    Ok(body)
}

fn header(line: &str) -> Result<(String, String), Error> {
    match line.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(Error::invalid_input(
            format!("{} is not a header", safe(line)),
            "write it as -H 'Name: value'",
        )),
    }
}

pub async fn run(engine: &Engine, args: RequestArgs, asking: Asking) -> Outcome {
    let body = args.data.as_deref().map(read_body).transpose()?;
    let headers = args
        .headers
        .iter()
        .map(|h| header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into());
    let request = ApiRequest {
        method,
        url: args.url.clone(),
        headers,
        body,
        allow_origins: args.allow_origins.clone(),
    };
    let reader = Consumer::calling_process(ReadKind::Request);
    let cleared = policy::clearance(
        engine,
        &args.account,
        &reader,
        "request",
        Purpose::Token,
        asking,
    )
    .await?;
    let reply = engine
        .api_request(&args.account, &request, &reader, &cleared)
        .await?;
    let mut out = std::io::stdout().lock();
    let mut written = Ok(());
    if args.include {
        let mut head = format!("HTTP {}\n", reply.status);
        for (name, value) in &reply.headers {
            head.push_str(&format!("{}: {}\n", safe(name), safe(value)));
        }
        head.push('\n');
        written = out.write_all(head.as_bytes());
    }
    written = written
        .and_then(|()| out.write_all(&reply.body))
        .and_then(|()| out.flush());
    drop(out);
    if written.is_err() {
        eprintln!("error: could not write the reply to standard output");
        return Err(Failure::Reported(1));
    }
    if reply.truncated {
        eprintln!("warning: the reply was larger than 64 MiB; only its start was printed");
    }
    if (200..300).contains(&reply.status) {
        return Ok(());
    }
    eprintln!("error: the API answered HTTP {}", reply.status);
    if let Some(scopes) = &reply.missing_scopes {
        // Step-up: the exact command that adds them, keeping the scopes already granted. Never
        // run on its own: the person decides.
        let add: Vec<String> = scopes
            .iter()
            .map(|s| format!("--scope {}", shell_words::quote(s)))
            .collect();
        eprintln!(
            "hint: it needs more scopes ({}); add them with: connected-accounts connect --account {} {}",
            safe(&scopes.join(" ")),
            shell_words::quote(&args.account),
            add.join(" ")
        );
    }
    Err(Failure::Reported(1))
}
