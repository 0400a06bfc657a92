//! Request ids that JSON-RPC does not allow.
//!
//! An id must be a string, a number or `null`. jsonrpsee reads a request whose id is an
//! object or an array as a notification and sends no answer, so the client gets an empty body
//! where geth answers `-32600 invalid request` with a `null` id. [`rewrite_invalid_ids`]
//! replaces each such request, alone or in a batch, with `{"id":null}`, which jsonrpsee
//! answers with exactly that error; every other body passes through untouched.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What replaces a request with an invalid id.
const INVALID: &str = r#"{"id":null}"#;

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

/// Whether `request` is an object whose `id` is an object or an array.
fn has_invalid_id(request: &str) -> bool {
    serde_json::from_str::<Probe<'_>>(request)
        .ok()
        .and_then(|probe| probe.id)
        .is_some_and(|id| matches!(id.get().as_bytes().first(), Some(b'{' | b'[')))
}

/// The body with every request whose id is an object or an array replaced by `{"id":null}`,
/// or `None` when there is none (or the body is not JSON, which jsonrpsee reports itself).
pub fn rewrite_invalid_ids(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    match text.trim_start().as_bytes().first()? {
        b'{' => has_invalid_id(text).then(|| INVALID.as_bytes().to_vec()),
        b'[' => {
            let calls: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            if !calls.iter().any(|call| has_invalid_id(call.get())) {
                return None;
            }
            let rewritten: Vec<&str> = calls
                .iter()
                .map(|call| {
                    if has_invalid_id(call.get()) {
                        INVALID
                    } else {
                        call.get()
                    }
                })
                .collect();
            Some(format!("[{}]", rewritten.join(",")).into_bytes())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_and_array_ids_are_rewritten_alone_and_in_batches() {
        let good = br#"{"jsonrpc":"2.0","id":{"a":1},"method":"eth_chainId"}"#;
        assert_eq!(
            rewrite_invalid_ids(good).as_deref(),
            Some(INVALID.as_bytes())
        );
        let array = br#" {"jsonrpc":"2.0","id":[1],"method":"eth_chainId"}"#;
        assert!(rewrite_invalid_ids(array).is_some());
        for fine in [
            &br#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#[..],
            br#"{"jsonrpc":"2.0","id":"x","method":"eth_chainId"}"#,
            br#"{"jsonrpc":"2.0","id":null,"method":"eth_chainId"}"#,
            br#"{"jsonrpc":"2.0","method":"eth_chainId"}"#,
            br#"{not json"#,
            b"",
        ] {
            assert_eq!(rewrite_invalid_ids(fine), None);
        }
        let batch =
            br#"[{"jsonrpc":"2.0","id":1,"method":"a"}, {"jsonrpc":"2.0","id":{},"method":"b"}]"#;
        let rewritten = rewrite_invalid_ids(batch).expect("rewritten");
        assert_eq!(
            String::from_utf8(rewritten).expect("utf-8"),
            r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"id":null}]"#
        );
    }
}
