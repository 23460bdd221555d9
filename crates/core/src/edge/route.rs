//! Which edge action a request path names.

/// An edge action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `/v1/interact`: events with a response (identity, decisions).
    Interact,
    /// `/v1/collect`: events without a response (beacons), answered 204.
    Collect,
    /// `/v1/identity/acquire`: just the identity.
    IdentityAcquire,
    /// `/v1/privacy/set-consent`: the visitor's consent.
    SetConsent,
}

impl Action {
    /// The action's path below `/v1/`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Interact => "interact",
            Action::Collect => "collect",
            Action::IdentityAcquire => "identity/acquire",
            Action::SetConsent => "privacy/set-consent",
        }
    }
}

/// A routed edge path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    /// The base path segment (`ee` by default in SDKs; any single segment is accepted).
    pub base_path: &'a str,
    /// The optional location hint segment (`or2`, `t35`), accepted and ignored: one edge
    /// serves every location.
    pub location_hint: Option<&'a str>,
    /// The action.
    pub action: Action,
}

fn is_segment(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Routes `/{basePath}[/{locationHint}]/v1/{action}`; `None` for any other path.
#[must_use]
pub fn route(path: &str) -> Option<Route<'_>> {
    let path = path.strip_prefix('/')?;
    let (prefix, action) = [
        ("/v1/interact", Action::Interact),
        ("/v1/collect", Action::Collect),
        ("/v1/identity/acquire", Action::IdentityAcquire),
        ("/v1/privacy/set-consent", Action::SetConsent),
    ]
    .into_iter()
    .find_map(|(suffix, action)| path.strip_suffix(suffix).map(|p| (p, action)))?;
    let (base_path, location_hint) = match prefix.split_once('/') {
        Some((base, hint)) => (base, Some(hint)),
        None => (prefix, None),
    };
    if !is_segment(base_path) || location_hint.is_some_and(|h| !is_segment(h)) {
        return None;
    }
    Some(Route { base_path, location_hint, action })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_action_with_and_without_hint() {
        let r = route("/ee/v1/interact").unwrap();
        assert_eq!((r.base_path, r.location_hint, r.action), ("ee", None, Action::Interact));
        let r = route("/ee/or2/v1/privacy/set-consent").unwrap();
        assert_eq!((r.location_hint, r.action), (Some("or2"), Action::SetConsent));
        assert_eq!(route("/pz/t35/v1/collect").unwrap().action, Action::Collect);
        assert_eq!(route("/ee/v1/identity/acquire").unwrap().action, Action::IdentityAcquire);
    }

    #[test]
    fn refuses_other_paths() {
        for p in [
            "/v1/interact",
            "/ee/v2/interact",
            "/ee/a/b/v1/interact",
            "/ee/v1/interact/x",
            "ee/v1/interact",
            "/ee//v1/interact",
            "/healthz",
        ] {
            assert!(route(p).is_none(), "{p}");
        }
    }
}
