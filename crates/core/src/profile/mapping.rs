//! Source rows to identities and attributes. (Being written.)
