//! `re` (stdlib stage), the parser: Python's regular-expression syntax to a tree ([`Node`]), with
//! the messages and positions of CPython 3.11's `re._parser`, whose structure it follows
//! (a tokenizer where `\x` is one token, `parse_sub` for alternatives, `parse_seq` for a sequence
//! of items). Flags that change the meaning of an item (`(?i)`, `(?s:...)`...) are resolved here and
//! recorded in each node, so the compiler and the matcher never track scoped flags.
//!
//! Nesting is bounded ([`MAX_DEPTH`], about where CPython's recursive parser hits its recursion
//! limit), so the parser's recursion, and the compiler's and width pass's over the tree, stay
//! within a small Rust stack whatever the pattern.

use super::chars::{Cat, ClassItem, ClassSet};

pub const FLAG_TEMPLATE: u32 = 1;
pub const FLAG_IGNORECASE: u32 = 2;
pub const FLAG_LOCALE: u32 = 4;
pub const FLAG_MULTILINE: u32 = 8;
pub const FLAG_DOTALL: u32 = 16;
pub const FLAG_UNICODE: u32 = 32;
pub const FLAG_VERBOSE: u32 = 64;
pub const FLAG_DEBUG: u32 = 128;
pub const FLAG_ASCII: u32 = 256;

const TYPE_FLAGS: u32 = FLAG_ASCII | FLAG_LOCALE | FLAG_UNICODE;
const GLOBAL_FLAGS: u32 = FLAG_DEBUG | FLAG_TEMPLATE;

/// Largest repeat count (`_sre.MAXREPEAT - 1`); `MAXREPEAT` itself means "no upper bound".
pub const MAXREPEAT: u32 = u32::MAX;
/// Group count limit (`_sre.MAXGROUPS`).
const MAXGROUPS: usize = 1_073_741_823;
/// Deepest nesting of groups accepted; CPython's recursive parser fails near 496 levels.
pub const MAX_DEPTH: usize = 495;

/// A compile error: CPython's `re.error` message and position (`None` for errors CPython
/// reports without one), or another exception CPython raises while compiling.
#[derive(Debug)]
pub enum ReError {
    Syntax(String, Option<usize>),
    Overflow(String),
    Value(String),
    Recursion,
}

type R<T> = Result<T, ReError>;

/// Where an anchor (`^ $ \A \Z \b \B`) may match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum At {
    /// `^` without MULTILINE, `\A`.
    Start,
    /// `^` with MULTILINE.
    StartLine,
    /// `$` without MULTILINE: the end or before a final newline.
    End,
    /// `$` with MULTILINE.
    EndLine,
    /// `\Z`.
    EndString,
    /// `\b` (Unicode word characters if true).
    Boundary(bool),
    /// `\B`.
    NonBoundary(bool),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RepeatKind {
    Greedy,
    Lazy,
    Possessive,
}

/// Case-insensitive matching mode of a literal, set or backreference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Case {
    Exact,
    /// ASCII letters only (bytes patterns, or the ASCII flag).
    Ascii,
    /// Unicode simple case folding.
    Unicode,
}

#[derive(Debug)]
pub enum Node {
    Empty,
    Lit(u32, Case),
    /// `.`; true with DOTALL (newline matches too).
    Any(bool),
    Set(Box<ClassSet>),
    At(At),
    Group(usize, Box<Node>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        min: u32,
        max: u32,
        kind: RepeatKind,
        body: Box<Node>,
    },
    Atomic(Box<Node>),
    Backref(usize, Case),
    Look {
        behind: bool,
        negate: bool,
        body: Box<Node>,
    },
    Cond {
        group: usize,
        yes: Box<Node>,
        no: Box<Node>,
    },
}

/// A parsed pattern: its tree, group count (group 0 included), names and final flags.
pub struct Parsed {
    pub node: Node,
    pub groups: usize,
    pub names: Vec<(String, usize)>,
    pub flags: u32,
}

/// One token: a character, or an escape `\c` (the character after the backslash).
#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Ch(u32),
    Esc(u32),
}

impl Tok {
    fn len(self) -> usize {
        match self {
            Tok::Ch(_) => 1,
            Tok::Esc(_) => 2,
        }
    }

    fn is(self, c: char) -> bool {
        self == Tok::Ch(c as u32)
    }

    /// The token as source text (for messages such as `bad escape \q`).
    fn text(self) -> String {
        match self {
            Tok::Ch(c) => ch(c).to_string(),
            Tok::Esc(c) => format!("\\{}", ch(c)),
        }
    }
}

fn ch(c: u32) -> char {
    char::from_u32(c).unwrap_or('\u{fffd}')
}

/// Python's `repr` of a string, for messages quoting a name.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

struct Source<'a> {
    s: &'a [u32],
    /// Index just past the current token.
    index: usize,
    next: Option<Tok>,
    is_text: bool,
}

impl<'a> Source<'a> {
    fn new(s: &'a [u32], is_text: bool) -> R<Source<'a>> {
        let mut src = Source {
            s,
            index: 0,
            next: None,
            is_text,
        };
        src.advance()?;
        Ok(src)
    }

    fn advance(&mut self) -> R<()> {
        let i = self.index;
        match self.s.get(i) {
            None => self.next = None,
            Some(&c) if c == '\\' as u32 => match self.s.get(i + 1) {
                Some(&d) => {
                    self.next = Some(Tok::Esc(d));
                    self.index = i + 2;
                }
                None => {
                    return Err(ReError::Syntax(
                        "bad escape (end of pattern)".into(),
                        Some(self.s.len() - 1),
                    ))
                }
            },
            Some(&c) => {
                self.next = Some(Tok::Ch(c));
                self.index = i + 1;
            }
        }
        Ok(())
    }

    fn get(&mut self) -> R<Option<Tok>> {
        let t = self.next;
        self.advance()?;
        Ok(t)
    }

    fn eat(&mut self, c: char) -> R<bool> {
        if self.next == Some(Tok::Ch(c as u32)) {
            self.advance()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn tell(&self) -> usize {
        self.index - self.next.map_or(0, Tok::len)
    }

    fn seek(&mut self, index: usize) -> R<()> {
        self.index = index;
        self.advance()
    }

    fn error(&self, msg: impl Into<String>, offset: usize) -> ReError {
        let mut msg: String = msg.into();
        if !self.is_text {
            msg = ascii_escape(&msg);
        }
        ReError::Syntax(msg, Some(self.tell().saturating_sub(offset)))
    }

    /// The next token if it is a plain character in `set`.
    fn next_in(&self, set: &str) -> Option<char> {
        match self.next {
            Some(Tok::Ch(c)) => {
                let c = ch(c);
                set.contains(c).then_some(c)
            }
            _ => None,
        }
    }

    /// Up to `n` characters from `set`.
    fn get_while(&mut self, n: usize, set: &str) -> R<String> {
        let mut out = String::new();
        for _ in 0..n {
            match self.next_in(set) {
                Some(c) => {
                    out.push(c);
                    self.advance()?;
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// The text up to `terminator` (consumed), for group names.
    fn get_until(&mut self, terminator: char, name: &str) -> R<String> {
        let mut out = String::new();
        loop {
            let t = self.get()?;
            match t {
                None => {
                    if out.is_empty() {
                        return Err(self.error(format!("missing {name}"), 0));
                    }
                    let n = out.chars().count();
                    return Err(self.error(format!("missing {terminator}, unterminated name"), n));
                }
                Some(t) if t.is(terminator) => {
                    if out.is_empty() {
                        return Err(self.error(format!("missing {name}"), 1));
                    }
                    return Ok(out);
                }
                Some(t) => out.push_str(&t.text()),
            }
        }
    }

    fn check_group_name(&self, name: &str, offset: usize) -> R<()> {
        if !crate::builtins::text::is_identifier(name) {
            return Err(self.error(
                format!("bad character in group name {}", py_repr(name)),
                name.chars().count() + offset,
            ));
        }
        Ok(())
    }
}

/// A message as CPython shows it for a bytes pattern (non-ASCII as `\x..` escapes).
fn ascii_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let v = c as u32;
        if v < 0x80 {
            out.push(c);
        } else if v < 0x100 {
            out.push_str(&format!("\\x{v:02x}"));
        } else if v < 0x10000 {
            out.push_str(&format!("\\u{v:04x}"));
        } else {
            out.push_str(&format!("\\U{v:08x}"));
        }
    }
    out
}

const DIGITS: &str = "0123456789";
const OCTDIGITS: &str = "01234567";
const HEXDIGITS: &str = "0123456789abcdefABCDEF";
const FLAG_CHARS: &str = "iLmsxatu";

fn flag_of(c: char) -> u32 {
    match c {
        'i' => FLAG_IGNORECASE,
        'L' => FLAG_LOCALE,
        'm' => FLAG_MULTILINE,
        's' => FLAG_DOTALL,
        'x' => FLAG_VERBOSE,
        'a' => FLAG_ASCII,
        't' => FLAG_TEMPLATE,
        'u' => FLAG_UNICODE,
        _ => 0,
    }
}

struct State {
    flags: u32,
    /// Per group: whether it is closed (for "cannot refer to an open group").
    closed: Vec<bool>,
    names: Vec<(String, usize)>,
    /// Set while inside a lookbehind: the group count when it started.
    lookbehind_groups: Option<usize>,
    /// Groups referred to by conditionals, with the position of the reference (checked at end).
    condrefs: Vec<(usize, usize)>,
    is_text: bool,
}

impl State {
    fn groups(&self) -> usize {
        self.closed.len()
    }

    fn check_group(&self, g: usize) -> bool {
        g < self.groups() && self.closed[g]
    }

    fn check_lookbehind_group(&self, g: usize, src: &Source) -> R<()> {
        if let Some(lb) = self.lookbehind_groups {
            if !self.check_group(g) {
                return Err(src.error("cannot refer to an open group", 0));
            }
            if g >= lb {
                return Err(src.error(
                    "cannot refer to group defined in the same lookbehind subpattern",
                    0,
                ));
            }
        }
        Ok(())
    }

    fn group_index(&self, name: &str) -> Option<usize> {
        self.names.iter().find(|(n, _)| n == name).map(|&(_, g)| g)
    }
}

/// The flags that shape items, as they are at one point of the pattern.
#[derive(Clone, Copy)]
struct Scope {
    flags: u32,
    verbose: bool,
}

impl Scope {
    fn case(&self, is_text: bool) -> Case {
        if self.flags & FLAG_IGNORECASE == 0 {
            Case::Exact
        } else if is_text && self.flags & FLAG_ASCII == 0 {
            Case::Unicode
        } else {
            Case::Ascii
        }
    }

    fn unicode(&self, is_text: bool) -> bool {
        is_text && self.flags & FLAG_ASCII == 0
    }
}

/// Parse `pattern` (code points; bytes as 0..=255) with the flags given to `compile`.
pub fn parse(pattern: &[u32], is_text: bool, flags: u32) -> R<Parsed> {
    let mut src = Source::new(pattern, is_text)?;
    let mut state = State {
        flags,
        closed: vec![true],
        names: Vec::new(),
        lookbehind_groups: None,
        condrefs: Vec::new(),
        is_text,
    };
    let scope = Scope {
        flags,
        verbose: flags & FLAG_VERBOSE != 0,
    };
    let node = parse_sub(&mut src, &mut state, scope, 0)?;
    let flags = fix_flags(is_text, state.flags)?;
    if src.next.is_some() {
        return Err(src.error("unbalanced parenthesis", 0));
    }
    for &(g, pos) in &state.condrefs {
        if g >= state.groups() {
            return Err(ReError::Syntax(
                format!("invalid group reference {g}"),
                Some(pos),
            ));
        }
    }
    Ok(Parsed {
        node,
        groups: state.groups(),
        names: state.names,
        flags,
    })
}

/// `fix_flags`: the UNICODE flag is implied for str patterns; incompatible combinations fail.
/// These are `ValueError`s in CPython.
fn fix_flags(is_text: bool, flags: u32) -> R<u32> {
    if is_text {
        if flags & FLAG_LOCALE != 0 {
            return Err(ReError::Value(
                "cannot use LOCALE flag with a str pattern".into(),
            ));
        }
        if flags & FLAG_ASCII == 0 {
            return Ok(flags | FLAG_UNICODE);
        }
        if flags & FLAG_UNICODE != 0 {
            return Err(ReError::Value(
                "ASCII and UNICODE flags are incompatible".into(),
            ));
        }
    } else {
        if flags & FLAG_UNICODE != 0 {
            return Err(ReError::Value(
                "cannot use UNICODE flag with a bytes pattern".into(),
            ));
        }
        if flags & FLAG_LOCALE != 0 && flags & FLAG_ASCII != 0 {
            return Err(ReError::Value(
                "ASCII and LOCALE flags are incompatible".into(),
            ));
        }
    }
    Ok(flags)
}

/// Alternatives `a|b|c`.
fn parse_sub(src: &mut Source, state: &mut State, mut scope: Scope, depth: usize) -> R<Node> {
    if depth > MAX_DEPTH {
        return Err(ReError::Recursion);
    }
    let mut items = Vec::new();
    loop {
        let first = depth == 0 && items.is_empty();
        items.push(parse_seq(src, state, &mut scope, depth, first)?);
        if !src.eat('|')? {
            break;
        }
        if depth == 0 {
            scope.verbose = state.flags & FLAG_VERBOSE != 0;
        }
    }
    if items.len() == 1 {
        return Ok(items.pop().unwrap_or(Node::Empty));
    }
    Ok(Node::Alt(items))
}

fn concat(mut items: Vec<Node>) -> Node {
    match items.len() {
        0 => Node::Empty,
        1 => items.pop().unwrap_or(Node::Empty),
        _ => Node::Concat(items),
    }
}

/// A sequence of items up to `|`, `)` or the end.
fn parse_seq(
    src: &mut Source,
    state: &mut State,
    scope: &mut Scope,
    depth: usize,
    first: bool,
) -> R<Node> {
    let mut items: Vec<Node> = Vec::new();
    // What the last item was, for "multiple repeat" and "nothing to repeat" (an anchor written
    // directly; one inside a group `(?:^)` may be repeated, as in CPython).
    let mut last = Last::Other;
    while let Some(this) = src.next {
        if this.is('|') || this.is(')') {
            break;
        }
        src.advance()?;
        if scope.verbose {
            if let Tok::Ch(c) = this {
                if matches!(ch(c), ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
                    continue;
                }
                if c == '#' as u32 {
                    loop {
                        match src.get()? {
                            None => break,
                            Some(t) if t.is('\n') => break,
                            _ => {}
                        }
                    }
                    continue;
                }
            }
        }
        let is_text = state.is_text;
        let c = match this {
            Tok::Esc(e) => {
                let node = escape(src, state, *scope, e)?;
                last = if matches!(node, Node::At(_)) {
                    Last::Anchor
                } else {
                    Last::Other
                };
                items.push(node);
                continue;
            }
            Tok::Ch(c) => ch(c),
        };
        match c {
            '[' => items.push(parse_class(src, *scope, is_text)?),
            '?' | '*' | '+' | '{' => {
                let here = src.tell();
                let (min, max) = match c {
                    '?' => (0, 1),
                    '*' => (0, MAXREPEAT),
                    '+' => (1, MAXREPEAT),
                    _ => {
                        if src.next.is_some_and(|t| t.is('}')) {
                            items.push(Node::Lit('{' as u32, scope.case(is_text)));
                            last = Last::Other;
                            continue;
                        }
                        let lo = digits(src)?;
                        let hi = if src.eat(',')? {
                            digits(src)?
                        } else {
                            lo.clone()
                        };
                        if !src.eat('}')? {
                            items.push(Node::Lit('{' as u32, scope.case(is_text)));
                            last = Last::Other;
                            src.seek(here)?;
                            continue;
                        }
                        let min = if lo.is_empty() {
                            0
                        } else {
                            repeat_number(&lo)?
                        };
                        let max = if hi.is_empty() {
                            MAXREPEAT
                        } else {
                            let m = repeat_number(&hi)?;
                            if m < min {
                                return Err(src.error(
                                    "min repeat greater than max repeat",
                                    src.tell() - here,
                                ));
                            }
                            m
                        };
                        (min, max)
                    }
                };
                let width = src.tell() - here + 1;
                let Some(item) = items.pop() else {
                    return Err(src.error("nothing to repeat", width));
                };
                if last == Last::Anchor {
                    return Err(src.error("nothing to repeat", width));
                }
                if last == Last::Repeat {
                    return Err(src.error("multiple repeat", width));
                }
                let kind = if src.eat('?')? {
                    RepeatKind::Lazy
                } else if src.eat('+')? {
                    RepeatKind::Possessive
                } else {
                    RepeatKind::Greedy
                };
                items.push(Node::Repeat {
                    min,
                    max,
                    kind,
                    body: Box::new(item),
                });
                last = Last::Repeat;
                continue;
            }
            '.' => items.push(Node::Any(scope.flags & FLAG_DOTALL != 0)),
            '^' => items.push(Node::At(if scope.flags & FLAG_MULTILINE != 0 {
                At::StartLine
            } else {
                At::Start
            })),
            '$' => items.push(Node::At(if scope.flags & FLAG_MULTILINE != 0 {
                At::EndLine
            } else {
                At::End
            })),
            '(' => {
                let start = src.tell() - 1;
                match parse_group(src, state, scope, depth, start, first && items.is_empty())? {
                    Some(node) => items.push(node),
                    None => {
                        // Global flags or a comment: nothing to add; a comment keeps the
                        // previous item repeatable, as in CPython.
                        continue;
                    }
                }
            }
            c => items.push(Node::Lit(c as u32, scope.case(is_text))),
        }
        last = if c == '^' || c == '$' {
            Last::Anchor
        } else {
            Last::Other
        };
    }
    Ok(concat(items))
}

#[derive(Clone, Copy, PartialEq)]
enum Last {
    Other,
    Repeat,
    Anchor,
}

fn digits(src: &mut Source) -> R<String> {
    let mut s = String::new();
    while let Some(c) = src.next_in(DIGITS) {
        s.push(c);
        src.advance()?;
    }
    Ok(s)
}

fn repeat_number(s: &str) -> R<u32> {
    match s.parse::<u64>() {
        Ok(n) if n < u64::from(MAXREPEAT) => Ok(n as u32),
        _ => Err(ReError::Overflow(
            "the repetition number is too large".into(),
        )),
    }
}

/// A group `( ... )` of any kind; `None` for one that adds no item (global flags, a comment).
fn parse_group(
    src: &mut Source,
    state: &mut State,
    scope: &mut Scope,
    depth: usize,
    start: usize,
    first: bool,
) -> R<Option<Node>> {
    let mut capture = true;
    let mut atomic = false;
    let mut name: Option<String> = None;
    let mut inner = *scope;
    if src.eat('?')? {
        let Some(t) = src.get()? else {
            return Err(src.error("unexpected end of pattern", 0));
        };
        let c = match t {
            Tok::Ch(c) => ch(c),
            Tok::Esc(_) => {
                return Err(src.error(format!("unknown extension ?{}", t.text()), t.len() + 1))
            }
        };
        match c {
            'P' => {
                if src.eat('<')? {
                    let n = src.get_until('>', "group name")?;
                    src.check_group_name(&n, 1)?;
                    name = Some(n);
                } else if src.eat('=')? {
                    let n = src.get_until(')', "group name")?;
                    src.check_group_name(&n, 1)?;
                    let len = n.chars().count();
                    let Some(g) = state.group_index(&n) else {
                        return Err(
                            src.error(format!("unknown group name {}", py_repr(&n)), len + 1)
                        );
                    };
                    if !state.check_group(g) {
                        return Err(src.error("cannot refer to an open group", len + 1));
                    }
                    state.check_lookbehind_group(g, src)?;
                    return Ok(Some(Node::Backref(g, scope.case(state.is_text))));
                } else {
                    let Some(t) = src.get()? else {
                        return Err(src.error("unexpected end of pattern", 0));
                    };
                    return Err(src.error(format!("unknown extension ?P{}", t.text()), t.len() + 2));
                }
            }
            ':' => capture = false,
            '#' => loop {
                if src.next.is_none() {
                    return Err(src.error("missing ), unterminated comment", src.tell() - start));
                }
                if src.get()?.is_some_and(|t| t.is(')')) {
                    return Ok(None);
                }
            },
            '=' | '!' | '<' => {
                let mut c = c;
                let behind = c == '<';
                let mut outer_lb = None;
                if behind {
                    let Some(t) = src.get()? else {
                        return Err(src.error("unexpected end of pattern", 0));
                    };
                    if !(t.is('=') || t.is('!')) {
                        return Err(
                            src.error(format!("unknown extension ?<{}", t.text()), t.len() + 2)
                        );
                    }
                    c = if t.is('=') { '=' } else { '!' };
                    outer_lb = Some(state.lookbehind_groups);
                    if state.lookbehind_groups.is_none() {
                        state.lookbehind_groups = Some(state.groups());
                    }
                }
                let body = parse_sub(src, state, *scope, depth + 1)?;
                if let Some(prev) = outer_lb {
                    state.lookbehind_groups = prev;
                }
                if !src.eat(')')? {
                    return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
                }
                return Ok(Some(Node::Look {
                    behind,
                    negate: c == '!',
                    body: Box::new(body),
                }));
            }
            '(' => {
                let cond = src.get_until(')', "group name")?;
                let len = cond.chars().count();
                let group = if crate::builtins::text::is_identifier(&cond) {
                    match state.group_index(&cond) {
                        Some(g) => g,
                        None => {
                            return Err(src
                                .error(format!("unknown group name {}", py_repr(&cond)), len + 1))
                        }
                    }
                } else {
                    let g = match cond.trim().parse::<u64>() {
                        Ok(g) if !cond.starts_with('+') => g,
                        _ => {
                            return Err(src.error(
                                format!("bad character in group name {}", py_repr(&cond)),
                                len + 1,
                            ))
                        }
                    };
                    if g == 0 {
                        return Err(src.error("bad group number", len + 1));
                    }
                    if g >= MAXGROUPS as u64 {
                        return Err(src.error(format!("invalid group reference {g}"), len + 1));
                    }
                    let g = g as usize;
                    if !state.condrefs.iter().any(|&(x, _)| x == g) {
                        state.condrefs.push((g, src.tell() - len - 1));
                    }
                    g
                };
                state.check_lookbehind_group(group, src)?;
                let mut s = *scope;
                let yes = parse_seq(src, state, &mut s, depth + 1, false)?;
                let no = if src.eat('|')? {
                    let mut s = *scope;
                    let no = parse_seq(src, state, &mut s, depth + 1, false)?;
                    if src.next.is_some_and(|t| t.is('|')) {
                        return Err(src.error("conditional backref with more than two branches", 0));
                    }
                    no
                } else {
                    Node::Empty
                };
                if !src.eat(')')? {
                    return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
                }
                return Ok(Some(Node::Cond {
                    group,
                    yes: Box::new(yes),
                    no: Box::new(no),
                }));
            }
            '>' => {
                capture = false;
                atomic = true;
            }
            c if FLAG_CHARS.contains(c) || c == '-' => {
                match parse_flags(src, state, c)? {
                    None => {
                        if !first {
                            return Err(src.error(
                                "global flags not at the start of the expression",
                                src.tell() - start,
                            ));
                        }
                        scope.flags = state.flags;
                        scope.verbose = state.flags & FLAG_VERBOSE != 0;
                        return Ok(None);
                    }
                    Some((add, del)) => {
                        inner.flags = (scope.flags | add) & !del;
                        // Turning on ASCII drops UNICODE and the reverse, as the type flags
                        // of a group replace the pattern's.
                        if add & FLAG_ASCII != 0 {
                            inner.flags &= !FLAG_UNICODE;
                        }
                        if add & FLAG_UNICODE != 0 {
                            inner.flags &= !FLAG_ASCII;
                        }
                        inner.verbose =
                            (scope.verbose || add & FLAG_VERBOSE != 0) && del & FLAG_VERBOSE == 0;
                        capture = false;
                    }
                }
            }
            c => {
                return Err(src.error(format!("unknown extension ?{c}"), 2));
            }
        }
    }
    let group = if capture {
        let g = state.groups();
        if g >= MAXGROUPS {
            return Err(src.error("too many groups", 0));
        }
        if let Some(n) = &name {
            if let Some(og) = state.group_index(n) {
                return Err(src.error(
                    format!(
                        "redefinition of group name {} as group {g}; was group {og}",
                        py_repr(n)
                    ),
                    n.chars().count() + 1,
                ));
            }
            state.names.push((n.clone(), g));
        }
        state.closed.push(false);
        Some(g)
    } else {
        None
    };
    let body = parse_sub(src, state, inner, depth + 1)?;
    if !src.eat(')')? {
        return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
    }
    Ok(Some(match group {
        Some(g) => {
            state.closed[g] = true;
            Node::Group(g, Box::new(body))
        }
        None if atomic => Node::Atomic(Box::new(body)),
        None => body,
    }))
}

/// Inline flags after `(?`: `None` for global flags `(?i)`, else the flags a scoped group
/// `(?i-s:...)` adds and removes.
fn parse_flags(src: &mut Source, state: &mut State, first: char) -> R<Option<(u32, u32)>> {
    let mut add = 0u32;
    let mut del = 0u32;
    let mut c = first;
    let text_of = |t: Tok| match t {
        Tok::Ch(c) => Some(ch(c)),
        Tok::Esc(_) => None,
    };
    if c != '-' {
        loop {
            let flag = flag_of(c);
            if state.is_text {
                if c == 'L' {
                    return Err(src.error(
                        "bad inline flags: cannot use 'L' flag with a str pattern",
                        0,
                    ));
                }
            } else if c == 'u' {
                return Err(src.error(
                    "bad inline flags: cannot use 'u' flag with a bytes pattern",
                    0,
                ));
            }
            add |= flag;
            if flag & TYPE_FLAGS != 0 && add & TYPE_FLAGS != flag {
                return Err(src.error(
                    "bad inline flags: flags 'a', 'u' and 'L' are incompatible",
                    0,
                ));
            }
            let Some(t) = src.get()? else {
                return Err(src.error("missing -, : or )", 0));
            };
            match text_of(t) {
                Some(n @ (')' | '-' | ':')) => {
                    c = n;
                    break;
                }
                Some(n) if FLAG_CHARS.contains(n) => c = n,
                Some(n) if n.is_alphabetic() => return Err(src.error("unknown flag", 1)),
                _ => return Err(src.error("missing -, : or )", t.len())),
            }
        }
    }
    if c == ')' {
        state.flags |= add;
        return Ok(None);
    }
    if add & GLOBAL_FLAGS != 0 {
        return Err(src.error("bad inline flags: cannot turn on global flag", 1));
    }
    if c == '-' {
        let Some(t) = src.get()? else {
            return Err(src.error("missing flag", 0));
        };
        c = match text_of(t) {
            Some(n) if FLAG_CHARS.contains(n) => n,
            Some(n) if n.is_alphabetic() => return Err(src.error("unknown flag", 1)),
            _ => return Err(src.error("missing flag", t.len())),
        };
        loop {
            let flag = flag_of(c);
            if flag & TYPE_FLAGS != 0 {
                return Err(src.error(
                    "bad inline flags: cannot turn off flags 'a', 'u' and 'L'",
                    0,
                ));
            }
            del |= flag;
            let Some(t) = src.get()? else {
                return Err(src.error("missing :", 0));
            };
            match text_of(t) {
                Some(':') => break,
                Some(n) if FLAG_CHARS.contains(n) => c = n,
                Some(n) if n.is_alphabetic() => return Err(src.error("unknown flag", 1)),
                _ => return Err(src.error("missing :", t.len())),
            }
        }
    }
    if del & GLOBAL_FLAGS != 0 {
        return Err(src.error("bad inline flags: cannot turn off global flag", 1));
    }
    if add & del != 0 {
        return Err(src.error("bad inline flags: flag turned on and off", 1));
    }
    Ok(Some((add, del)))
}

fn category(e: char, unicode: bool) -> Option<Cat> {
    Some(match e {
        'd' => Cat::Digit(unicode),
        'D' => Cat::NotDigit(unicode),
        's' => Cat::Space(unicode),
        'S' => Cat::NotSpace(unicode),
        'w' => Cat::Word(unicode),
        'W' => Cat::NotWord(unicode),
        _ => return None,
    })
}

fn simple_escape(e: char) -> Option<u32> {
    Some(match e {
        'a' => 7,
        'b' => 8,
        'f' => 12,
        'n' => 10,
        'r' => 13,
        't' => 9,
        'v' => 11,
        '\\' => 92,
        _ => return None,
    })
}

/// `\x..`, `\u....`, `\U........`, `\N{...}`: the code point, or `None` if `e` is none of them.
fn code_escape(src: &mut Source, e: char) -> R<Option<u32>> {
    let n = match e {
        'x' => 2,
        'u' if src.is_text => 4,
        'U' if src.is_text => 8,
        'N' if src.is_text => {
            if !src.eat('{')? {
                return Err(src.error("missing {", 0));
            }
            // minivm has no Unicode name table: refuse clearly rather than guess.
            let name = src.get_until('}', "character name")?;
            return Err(src.error(
                format!(
                    "minivm does not support \\N{{...}} escapes (character name {})",
                    py_repr(&name)
                ),
                name.chars().count() + 4,
            ));
        }
        _ => return Ok(None),
    };
    let digits = src.get_while(n, HEXDIGITS)?;
    let text = format!("\\{e}{digits}");
    if digits.len() != n {
        return Err(src.error(format!("incomplete escape {text}"), text.len()));
    }
    match u32::from_str_radix(&digits, 16) {
        Ok(v) if v <= 0x10ffff => Ok(Some(v)),
        _ => Err(src.error(format!("bad escape {text}"), text.len())),
    }
}

/// An escape inside a character class.
fn class_escape(src: &mut Source, scope: Scope, e: u32) -> R<ClassItem> {
    let e = ch(e);
    if let Some(v) = simple_escape(e) {
        return Ok(ClassItem::Lit(v));
    }
    if let Some(cat) = category(e, scope.unicode(src.is_text)) {
        return Ok(ClassItem::Cat(cat));
    }
    if let Some(v) = code_escape(src, e)? {
        return Ok(ClassItem::Lit(v));
    }
    if OCTDIGITS.contains(e) {
        let more = src.get_while(2, OCTDIGITS)?;
        let text = format!("\\{e}{more}");
        let v = u32::from_str_radix(&text[1..], 8).unwrap_or(0);
        if v > 0o377 {
            return Err(src.error(
                format!("octal escape value {text} outside of range 0-0o377"),
                text.len(),
            ));
        }
        return Ok(ClassItem::Lit(v));
    }
    if DIGITS.contains(e) || e.is_ascii_alphabetic() {
        return Err(src.error(format!("bad escape \\{e}"), 2));
    }
    Ok(ClassItem::Lit(e as u32))
}

/// An escape outside a class: a literal, a category, an anchor or a backreference.
fn escape(src: &mut Source, state: &mut State, scope: Scope, e: u32) -> R<Node> {
    let is_text = state.is_text;
    let case = scope.case(is_text);
    let unicode = scope.unicode(is_text);
    let e = ch(e);
    match e {
        'A' => return Ok(Node::At(At::Start)),
        'Z' => return Ok(Node::At(At::EndString)),
        'b' => return Ok(Node::At(At::Boundary(unicode))),
        'B' => return Ok(Node::At(At::NonBoundary(unicode))),
        _ => {}
    }
    if let Some(cat) = category(e, unicode) {
        return Ok(Node::Set(Box::new(ClassSet::new(
            false,
            vec![ClassItem::Cat(cat)],
            case,
        ))));
    }
    if let Some(v) = simple_escape(e) {
        return Ok(Node::Lit(v, case));
    }
    if let Some(v) = code_escape(src, e)? {
        return Ok(Node::Lit(v, case));
    }
    if e == '0' {
        let more = src.get_while(2, OCTDIGITS)?;
        let v = u32::from_str_radix(&format!("0{more}"), 8).unwrap_or(0);
        return Ok(Node::Lit(v, case));
    }
    if DIGITS.contains(e) {
        let mut text = format!("\\{e}");
        if let Some(d) = src.next_in(DIGITS) {
            src.advance()?;
            text.push(d);
            if OCTDIGITS.contains(e) && OCTDIGITS.contains(d) {
                if let Some(d3) = src.next_in(OCTDIGITS) {
                    src.advance()?;
                    text.push(d3);
                    let v = u32::from_str_radix(&text[1..], 8).unwrap_or(0);
                    if v > 0o377 {
                        return Err(src.error(
                            format!("octal escape value {text} outside of range 0-0o377"),
                            text.len(),
                        ));
                    }
                    return Ok(Node::Lit(v, case));
                }
            }
        }
        let group: usize = text[1..].parse().unwrap_or(usize::MAX);
        if group < state.groups() {
            if !state.check_group(group) {
                return Err(src.error("cannot refer to an open group", text.len()));
            }
            state.check_lookbehind_group(group, src)?;
            return Ok(Node::Backref(group, case));
        }
        return Err(src.error(format!("invalid group reference {group}"), text.len() - 1));
    }
    if e.is_ascii_alphabetic() {
        return Err(src.error(format!("bad escape \\{e}"), 2));
    }
    Ok(Node::Lit(e as u32, case))
}

/// A character class `[...]` (the `[` already read).
fn parse_class(src: &mut Source, scope: Scope, is_text: bool) -> R<Node> {
    let here = src.tell() - 1;
    let negate = src.eat('^')?;
    let mut items: Vec<ClassItem> = Vec::new();
    loop {
        let Some(this) = src.get()? else {
            return Err(src.error("unterminated character set", src.tell() - here));
        };
        if this.is(']') && !items.is_empty() {
            break;
        }
        let code1 = match this {
            Tok::Esc(e) => class_escape(src, scope, e)?,
            Tok::Ch(c) => ClassItem::Lit(c),
        };
        if src.eat('-')? {
            let Some(that) = src.get()? else {
                return Err(src.error("unterminated character set", src.tell() - here));
            };
            if that.is(']') {
                items.push(code1);
                items.push(ClassItem::Lit('-' as u32));
                break;
            }
            let code2 = match that {
                Tok::Esc(e) => class_escape(src, scope, e)?,
                Tok::Ch(c) => ClassItem::Lit(c),
            };
            let msg = format!("bad character range {}-{}", this.text(), that.text());
            let off = this.text().chars().count() + 1 + that.text().chars().count();
            match (code1, code2) {
                (ClassItem::Lit(lo), ClassItem::Lit(hi)) if lo <= hi => {
                    items.push(ClassItem::Range(lo, hi))
                }
                _ => return Err(src.error(msg, off)),
            }
        } else {
            items.push(code1);
        }
    }
    let case = scope.case(is_text);
    if !negate {
        if let [ClassItem::Lit(c)] = items[..] {
            return Ok(Node::Lit(c, case));
        }
    }
    Ok(Node::Set(Box::new(ClassSet::new(negate, items, case))))
}

/// The (min, max) number of characters `node` can match; `None` for max means unbounded
/// (used to check that a lookbehind has a fixed width).
pub fn width(node: &Node) -> (u64, Option<u64>) {
    match node {
        Node::Empty | Node::At(_) | Node::Look { .. } => (0, Some(0)),
        Node::Lit(..) | Node::Any(_) | Node::Set(_) => (1, Some(1)),
        Node::Group(_, b) | Node::Atomic(b) => width(b),
        Node::Concat(items) => items.iter().fold((0, Some(0)), |(lo, hi), n| {
            let (l, h) = width(n);
            (
                lo.saturating_add(l),
                hi.and_then(|a| h.map(|b| a.saturating_add(b))),
            )
        }),
        Node::Alt(items) => {
            let mut lo = u64::MAX;
            let mut hi = Some(0u64);
            for n in items {
                let (l, h) = width(n);
                lo = lo.min(l);
                hi = hi.and_then(|a| h.map(|b| a.max(b)));
            }
            (if items.is_empty() { 0 } else { lo }, hi)
        }
        Node::Repeat { min, max, body, .. } => {
            let (l, h) = width(body);
            let hi = if *max == MAXREPEAT {
                if h == Some(0) {
                    Some(0)
                } else {
                    None
                }
            } else {
                h.map(|h| h.saturating_mul(u64::from(*max)))
            };
            (l.saturating_mul(u64::from(*min)), hi)
        }
        Node::Backref(..) => (0, None),
        Node::Cond { yes, no, .. } => {
            let (l1, h1) = width(yes);
            let (l2, h2) = width(no);
            (l1.min(l2), h1.and_then(|a| h2.map(|b| a.max(b))))
        }
    }
}
