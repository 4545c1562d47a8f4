//! Merging alerts of one rule (StreamAlert's `Alert.can_merge` and `Alert.merge`).
//! Implemented by the merge work; see `publishers-rules.md` §2.7.
