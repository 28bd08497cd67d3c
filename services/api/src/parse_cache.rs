//! Parsed query documents kept by query text.
//!
//! Front ends send the same few dozen query texts over and over with different variables, and
//! parsing one (async-graphql's pest grammar) costs more than validating it. A parsed document
//! depends on the text alone, so it is reused as is: the HTTP layer hands it to the request
//! ([`ParsedQueries::prepare`]) and async-graphql skips its own parse. Depth, directive,
//! validation and complexity checks still run on every request, with that request's variables.
//!
//! Deliberately not a schema `Extension`: registering any extension makes async-graphql route
//! every field through the extension chain, which cost more than the parse it saved (18% of the
//! dossier's CPU in a profile). Only documents that parsed are kept (a bad query is left for
//! async-graphql to parse and report), only texts up to [`MAX_QUERY_BYTES`], in a map of at
//! most [`CAPACITY`] entries; when full it is emptied and refills with what is sent next.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;

/// Distinct query texts kept.
pub const CAPACITY: usize = 512;
/// Longer texts are parsed every time (and not kept).
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

#[derive(Default)]
pub struct ParsedQueries {
    docs: Mutex<HashMap<String, ExecutableDocument>>,
}

impl ParsedQueries {
    /// Gives the request its parsed document from the cache, parsing and keeping it first when
    /// it is new.
    pub fn prepare(&self, request: &mut Request) {
        if request.query.len() > MAX_QUERY_BYTES {
            return;
        }
        let held = self.lock().get(&request.query).cloned();
        let doc = match held {
            Some(doc) => doc,
            None => match async_graphql::parser::parse_query(&request.query) {
                Ok(doc) => {
                    let mut docs = self.lock();
                    if docs.len() >= CAPACITY {
                        docs.clear();
                    }
                    docs.insert(request.query.clone(), doc.clone());
                    doc
                }
                Err(_) => return,
            },
        };
        request.set_parsed_query(doc);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ExecutableDocument>> {
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_parsed_once_and_a_bad_one_is_left_to_the_executor() {
        let cache = ParsedQueries::default();
        let mut a = Request::new("{ me { id } }");
        cache.prepare(&mut a);
        assert!(a.parsed_query().is_ok());
        assert_eq!(cache.lock().len(), 1);
        let mut b = Request::new("{ me { id } }");
        cache.prepare(&mut b);
        assert_eq!(cache.lock().len(), 1);
        let mut bad = Request::new("{ me { id ");
        cache.prepare(&mut bad);
        assert_eq!(cache.lock().len(), 1);
        assert!(bad.parsed_query().is_err());
    }
}
