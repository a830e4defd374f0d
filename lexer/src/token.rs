//! The logos scanner: one `Token` per lexeme (stage 1a). Owned by the front-end work.
