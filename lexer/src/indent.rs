//! The indentation layer over the logos scanner (stage 1b): emits Newline/Indent/Dedent. Owned by the front-end work.
