//! Why the edge refused a request, and the Adobe-format error body each reason becomes.

use crate::field::FieldError;
use crate::protocol::{ErrorBody, ErrorReport, ReportedError};

/// The URI prefix of error types.
pub const ERROR_TYPE_PREFIX: &str = "https://ns.edgecdp.dev/errors/";

/// At most this many field errors are listed in one error body.
const MAX_REPORTED: usize = 50;

/// A refused request. Every variant is a client error (4xx): nothing the client sends makes the
/// edge answer 5xx.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// The path is not an edge endpoint.
    #[error(
        "There is no edge endpoint at {path}. Edge paths are /{{basePath}}[/{{locationHint}}]/v1/{{interact|collect|identity/acquire|privacy/set-consent}}."
    )]
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// A method other than POST (or OPTIONS for a preflight).
    #[error("The method {method} is not allowed here; edge endpoints take POST.")]
    MethodNotAllowed {
        /// The method used.
        method: String,
    },
    /// No `configId` query parameter.
    #[error("The request has no configId query parameter naming its datastream.")]
    MissingConfigId,
    /// `configId` names no datastream.
    #[error("The datastream ID '{id}' referenced in your request does not exist.")]
    UnknownDatastream {
        /// The id given.
        id: String,
    },
    /// The page's origin may not call this datastream.
    #[error(
        "The origin {origin} is not allowed to call datastream '{datastream}'; add it to the datastream's allowed_origins."
    )]
    OriginNotAllowed {
        /// The `Origin` header.
        origin: String,
        /// The datastream.
        datastream: String,
    },
    /// The body is larger than the request limit.
    #[error("The request body is over the limit of {limit} bytes.")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body is not JSON.
    #[error("The request body is not valid JSON: {detail}.")]
    MalformedJson {
        /// The parser's message, with line and column.
        detail: String,
    },
    /// The body is JSON but fields are wrong.
    #[error("{}", summarize(errors))]
    InvalidRequest {
        /// Each problem.
        errors: Vec<FieldError>,
    },
    /// The consent entries could not be read.
    #[error("The consent could not be read: {}", summarize(errors))]
    InvalidConsent {
        /// Each problem.
        errors: Vec<FieldError>,
    },
}

fn summarize(errors: &[FieldError]) -> String {
    match errors {
        [] => "The request is invalid.".into(),
        [one] => format!("{one}."),
        [first, rest @ ..] => format!("{first} (and {} more problems, listed in report.errors).", rest.len()),
    }
}

impl EdgeError {
    /// HTTP status, stable code and title.
    #[must_use]
    pub fn meta(&self) -> (u16, &'static str, &'static str) {
        match self {
            EdgeError::NotFound { .. } => (404, "ECDP-0001-404", "Not found"),
            EdgeError::MethodNotAllowed { .. } => (405, "ECDP-0002-405", "Method not allowed"),
            EdgeError::MissingConfigId => (400, "ECDP-0003-400", "Missing datastream ID"),
            EdgeError::UnknownDatastream { .. } => (400, "ECDP-0004-400", "Invalid datastream ID"),
            EdgeError::OriginNotAllowed { .. } => (403, "ECDP-0005-403", "Origin not allowed"),
            EdgeError::BodyTooLarge { .. } => (413, "ECDP-0006-413", "Request too large"),
            EdgeError::MalformedJson { .. } => (400, "ECDP-0007-400", "Malformed request body"),
            EdgeError::InvalidRequest { .. } => (400, "ECDP-0008-400", "Invalid request"),
            EdgeError::InvalidConsent { .. } => (400, "ECDP-0009-400", "Invalid consent"),
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.meta().0
    }

    /// The stable code (`ECDP-0004-400`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.meta().1
    }

    /// The error body for this refusal.
    #[must_use]
    pub fn body(&self, request_id: Option<&str>) -> ErrorBody {
        let (status, code, title) = self.meta();
        let errors = match self {
            EdgeError::InvalidRequest { errors } | EdgeError::InvalidConsent { errors } => {
                errors.iter().take(MAX_REPORTED).map(ReportedError::from).collect()
            }
            _ => Vec::new(),
        };
        ErrorBody {
            kind: format!("{ERROR_TYPE_PREFIX}{code}"),
            status,
            title: title.into(),
            detail: self.to_string(),
            report: ErrorReport { request_id: request_id.map(str::to_owned), errors },
        }
    }
}
