//! `converse <protocol> <url> <schema-dir> [token forged-token]`: holds one protocol's whole
//! conversation (see the library) with the server at `url`; exits 0 when it went as documented.

use std::path::Path;

use agentwire_client_tests::{Target, client_examples, converse};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [protocol, url, schema, rest @ ..] = args.as_slice() else {
        eprintln!("usage: converse <protocol> <url> <schema-dir> [token forged-token]");
        std::process::exit(2);
    };
    let target = Target {
        url: url.clone(),
        token: rest.first().cloned(),
        forged_token: rest.get(1).cloned(),
        examples: client_examples(Path::new(schema), protocol),
    };
    converse(protocol, &target).await;
    println!("{protocol}: the conversation went as documented");
}
