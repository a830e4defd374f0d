//! `_xmlscan` (stdlib stage): the common case of `xml.etree.ElementTree`'s parser in Rust, as
//! CPython's `_elementtree` builds the tree in C from expat's callbacks.
//! `vm/lib/xml/etree/ElementTree.mini` keeps the whole scanner (every error with expat's message
//! and position, entities, namespaces, comments, processing instructions, DOCTYPE, targets of
//! the program's own); its scan loop hands the document to `build` whenever the target is a
//! plain `TreeBuilder` making plain `Element`s and no namespace is in scope.
//!
//! `build(text, pos, open_tags, scopes, open_elems, owner, to_tail, Element, events,
//! want_start, want_end)` reads `text` from character `pos` and, for each piece it knows, does
//! what the mini scanner, `XMLParser` and `TreeBuilder` together would do: a start tag makes an
//! `Element` (`tag`, `attrib`, `_children`, set in `Element.__init__`'s order) and appends it to
//! its parent, the text before a tag becomes the `text` or `tail` of the element the previous
//! tag started or ended, and `('start', elem)` / `('end', elem)` go to `events` when wanted.
//! It stops, with nothing of the next piece done, at anything else: a character or entity
//! reference, a control character or `]]>` in text, `<!`, `<?`, a name with `:` or a non-ASCII
//! character, `xmlns`, a repeated attribute, a mismatched or malformed tag, the end of the text,
//! or once the root is closed; the mini scanner then reads that piece (and reports the error,
//! if it is one). It gives `(pos, owner, to_tail)`: where it stopped and the builder's state.
//! No Python code runs here.

use std::collections::HashMap;
use std::sync::Arc;

use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{intern_name, Class, Dict, HashKey, Instance, List, Module};
use crate::value::Value;
use crate::PyResult;

pub fn module() -> Ref<Module> {
    super::module_from_fns(
        "_xmlscan",
        &[
            ("build", build),
            ("write_plain", write_plain),
            ("setup", setup),
            ("sub_element", sub_element),
        ],
        vec![],
    )
}

/// One tag read (and checked) but not yet acted on.
enum Tag<'a> {
    Start {
        name: &'a [u8],
        attrs: Vec<(&'a [u8], String)>,
        empty: bool,
        end: usize,
    },
    End {
        name: &'a [u8],
        end: usize,
    },
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

/// The end of an ASCII XML name starting at `i`, or `None` if there is none or it goes on
/// with a character left to the mini scanner (`:`, non-ASCII).
fn name_end(s: &[u8], i: usize) -> Option<usize> {
    match s.get(i) {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
        _ => return None,
    }
    let mut j = i + 1;
    while let Some(&b) = s.get(j) {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.') {
            j += 1;
        } else if b == b':' || b >= 0x80 {
            return None;
        } else {
            break;
        }
    }
    Some(j)
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while s.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// The tag at `lt` (a `<`), if it is a well-formed start or end tag of the kind `build` does.
fn read_tag(s: &[u8], lt: usize) -> Option<Tag<'_>> {
    match s.get(lt + 1)? {
        b'/' => {
            let ne = name_end(s, lt + 2)?;
            let i = skip_space(s, ne);
            (s.get(i) == Some(&b'>')).then_some(Tag::End {
                name: &s[lt + 2..ne],
                end: i + 1,
            })
        }
        b'!' | b'?' => None,
        _ => {
            let ne = name_end(s, lt + 1)?;
            let name = &s[lt + 1..ne];
            let mut attrs: Vec<(&[u8], String)> = Vec::new();
            let mut i = ne;
            loop {
                let j = skip_space(s, i);
                match s.get(j)? {
                    b'>' => {
                        return Some(Tag::Start {
                            name,
                            attrs,
                            empty: false,
                            end: j + 1,
                        })
                    }
                    b'/' => {
                        return (s.get(j + 1) == Some(&b'>')).then_some(Tag::Start {
                            name,
                            attrs,
                            empty: true,
                            end: j + 2,
                        })
                    }
                    _ if j == i => return None,
                    _ => {}
                }
                let ke = name_end(s, j)?;
                let key = &s[j..ke];
                if key == b"xmlns" || attrs.iter().any(|(k, _)| *k == key) {
                    return None;
                }
                let eq = skip_space(s, ke);
                if s.get(eq) != Some(&b'=') {
                    return None;
                }
                let q = skip_space(s, eq + 1);
                let quote = *s.get(q)?;
                if quote != b'"' && quote != b'\'' {
                    return None;
                }
                let len = s.get(q + 1..)?.iter().position(|&b| b == quote)?;
                let raw = &s[q + 1..q + 1 + len];
                if raw.iter().any(|&b| b == b'<' || b == b'&') {
                    return None;
                }
                let mut value = std::str::from_utf8(raw).ok()?.to_owned();
                if value.contains(['\t', '\n']) {
                    value = value.replace(['\t', '\n'], " ");
                }
                attrs.push((key, value));
                i = q + 2 + len;
            }
        }
    }
}

/// Text between tags that the mini scanner would pass on as it is: no reference, no control
/// character XML refuses, no `]]>`.
fn plain_text(chunk: &[u8]) -> bool {
    !chunk
        .iter()
        .any(|&b| b == b'&' || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')))
        && !chunk.windows(3).any(|w| w == b"]]>")
}

/// The interned attribute names an `Element` has.
struct Names {
    tag: Arc<str>,
    attrib: Arc<str>,
    children: Arc<str>,
    text: Arc<str>,
    tail: Arc<str>,
}

/// `inst` if it is an instance of exactly `class` (whose attributes are plain entries of its
/// table: `Element` has no descriptors or `__setattr__`).
fn element_of<'v>(v: &'v Value, class: &Ref<Class>) -> Option<&'v Ref<Instance>> {
    match v {
        Value::Instance(inst) if Ref::ptr_eq(&inst.class.get(), class) => Some(inst),
        _ => None,
    }
}

/// The `_children` list of an element.
fn children_of(inst: &Ref<Instance>, names: &Names) -> Option<Ref<List>> {
    match inst.dict.read().get(&*names.children) {
        Some(Value::List(l)) => Some(l.clone()),
        _ => None,
    }
}

/// The str for a name, made once per `build` call (expat interns names too).
fn name_value<'a>(strs: &mut SeenNames<'a>, n: &'a [u8]) -> Value {
    strs.entry(n)
        .or_insert_with(|| Value::str(std::str::from_utf8(n).unwrap_or("")))
        .clone()
}

/// The names met in one `build` call and their strs.
type SeenNames<'a> = HashMap<&'a [u8], Value, rustc_hash::FxBuildHasher>;

fn build(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Value::Str(text), Value::Int(pos), Value::List(open_tags), Value::List(scopes), Value::List(open_elems), owner, to_tail, Value::Class(element), events, want_start, want_end] =
        args.pos
    else {
        return Err(crate::err!(
            TypeError,
            "_xmlscan.build: unexpected arguments"
        ));
    };
    let events = match events {
        Value::List(l) => Some(l),
        _ => None,
    };
    let want_start = events.filter(|_| matches!(want_start, Value::Bool(true)));
    let want_end = events.filter(|_| matches!(want_end, Value::Bool(true)));
    let names = Names {
        tag: intern_name("tag"),
        attrib: intern_name("attrib"),
        children: intern_name("_children"),
        text: intern_name("text"),
        tail: intern_name("tail"),
    };
    let (start_word, end_word) = (Value::str("start"), Value::str("end"));
    let empty_scope = Value::tuple(Vec::new());
    let p0 = usize::try_from(*pos).unwrap_or(0);
    let s = text.as_str().as_bytes();
    let b0 = text.byte_offset(p0);
    let mut i = b0;
    let mut owner = owner.clone();
    let mut to_tail = matches!(to_tail, Value::Bool(true));
    // One str per distinct name (expat interns names too).
    let mut strs: SeenNames<'_> = HashMap::default();
    while !open_tags.items.read().is_empty() {
        let Some(off) = s.get(i..).and_then(|t| t.iter().position(|&b| b == b'<')) else {
            break;
        };
        let lt = i + off;
        let chunk = &s[i..lt];
        if !chunk.is_empty() && !plain_text(chunk) {
            break;
        }
        let Some(tag) = read_tag(s, lt) else {
            break;
        };
        // Everything the tag needs is checked before anything is done.
        let parent = open_elems.items.read().last().cloned();
        let Some(parent) = parent else {
            break;
        };
        let Some(parent) = element_of(&parent, element).cloned() else {
            break;
        };
        match &tag {
            Tag::End { name, .. } => {
                let top_ok = matches!(open_tags.items.read().last(),
                    Some(Value::Str(t)) if t.as_str().as_bytes() == *name);
                let scope_ok = match scopes.items.read().last() {
                    Some(Value::Tuple(t)) => t.items.is_empty(),
                    Some(Value::Dict(d)) => d.is_empty(),
                    _ => false,
                };
                if !top_ok || !scope_ok {
                    break;
                }
            }
            Tag::Start { .. } => {}
        }
        let children = children_of(&parent, &names);
        let Some(children) = children else {
            break;
        };
        if !chunk.is_empty() && !owner.is_none() {
            let Some(o) = element_of(&owner, element) else {
                break;
            };
            let Ok(t) = std::str::from_utf8(chunk) else {
                break;
            };
            // Added to what the slot holds, as CPython's C TreeBuilder adds text: a comment
            // or pi read in between has already put the text before it there.
            let key = if to_tail { &names.tail } else { &names.text };
            let mut dict = o.dict.write();
            let value = match dict.get(key) {
                Some(Value::Str(before)) if !before.as_str().is_empty() => {
                    Value::string(format!("{}{t}", before.as_str()))
                }
                _ => Value::str(t),
            };
            let old = dict.insert(key.clone(), value);
            drop(dict);
            drop(old);
        }
        match tag {
            Tag::Start {
                name,
                attrs,
                empty,
                end,
            } => {
                let tag_value = name_value(&mut strs, name);
                let attrib = Dict::new();
                for (k, v) in attrs {
                    attrib.insert(
                        HashKey::from_value(name_value(&mut strs, k))?,
                        Value::string(v),
                    );
                }
                let inst = Ref::new_with(|| Instance::new(element.clone()));
                {
                    // A new table: the names are added without searching for them.
                    let mut d = inst.dict.write();
                    d.push_name(&names.tag, tag_value.clone());
                    d.push_name(&names.attrib, Value::Dict(Ref::new(attrib)));
                    d.push_name(&names.children, Value::list(Vec::new()));
                }
                let elem = Value::Instance(inst);
                children.items.write().push(elem.clone());
                if let Some(ev) = want_start {
                    let pair = Value::tuple(vec![start_word.clone(), elem.clone()]);
                    ev.items.write().push(pair);
                }
                if empty {
                    if let Some(ev) = want_end {
                        let pair = Value::tuple(vec![end_word.clone(), elem.clone()]);
                        ev.items.write().push(pair);
                    }
                    to_tail = true;
                } else {
                    open_elems.items.write().push(elem.clone());
                    open_tags.items.write().push(tag_value);
                    scopes.items.write().push(empty_scope.clone());
                    to_tail = false;
                }
                owner = elem;
                i = end;
            }
            Tag::End { end, .. } => {
                let popped = open_tags.items.write().pop();
                let scope = scopes.items.write().pop();
                let elem = open_elems.items.write().pop().unwrap_or(Value::None);
                drop((popped, scope));
                if let Some(ev) = want_end {
                    let pair = Value::tuple(vec![end_word.clone(), elem.clone()]);
                    ev.items.write().push(pair);
                }
                owner = elem;
                to_tail = true;
                i = end;
            }
        }
    }
    let chars = if text.is_ascii() {
        i - b0
    } else {
        String::from_utf8_lossy(s.get(b0..i).unwrap_or(&[]))
            .chars()
            .count()
    };
    let pos = i64::try_from(p0 + chars).unwrap_or(i64::MAX);
    Ok(Value::tuple(vec![
        Value::Int(pos),
        owner,
        Value::Bool(to_tail),
    ]))
}

/// `text` escaped as ElementTree's `_escape_text` does (`&`, `<`, `>`), added to `out`.
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// An attribute value escaped as `_escape_attr` does.
fn push_attr(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#09;"),
            c => out.push(c),
        }
    }
}

/// A str, `None` for None, or no answer (`Err`) for anything else.
fn opt_str(v: Option<Value>) -> Result<Option<Ref<crate::object::PyStr>>, ()> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

/// The name `names` gives `key` (a str), if it is a str.
fn written_name(names: &Dict, key: &Value) -> Option<Ref<crate::object::PyStr>> {
    let key = HashKey::from_value(key.clone()).ok()?;
    match names.get(&key)? {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// How deep `write_plain` goes (the mini writer's recursion fails far below 1,000 levels).
const MAX_WRITE_DEPTH: usize = 200;

/// One step of the writer: an element to open, or the end tag (and tail) of one opened.
enum Step {
    Open(Ref<Instance>),
    Close(Ref<crate::object::PyStr>, Option<Ref<crate::object::PyStr>>),
}

/// `write_plain(root, Element, names, short_empty)`: the XML text `_write_xml` writes for a
/// tree of plain Elements with str tags, attribute names and values, texts and tails, written
/// without namespace declarations (`names`: `_qualified_names`' map); `None` for any other tree
/// (the mini writer then writes it, and raises its errors). Nothing is changed here.
fn write_plain(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Value::Instance(root), Value::Class(element), Value::Dict(names), short_empty] = args.pos
    else {
        return Ok(Value::None);
    };
    let short_empty = matches!(short_empty, Value::Bool(true));
    Ok(write_tree(root, element, names, short_empty).map_or(Value::None, Value::string))
}

fn write_tree(
    root: &Ref<Instance>,
    element: &Ref<Class>,
    names: &Dict,
    short_empty: bool,
) -> Option<String> {
    let mut out = String::new();
    let mut stack = vec![Step::Open(root.clone())];
    // Elements open around the one written: a tree deeper than this (or one that holds
    // itself) is left to the mini writer, which raises RecursionError as CPython's does.
    let mut depth = 0usize;
    while let Some(step) = stack.pop() {
        let e = match step {
            Step::Open(e) => e,
            Step::Close(name, tail) => {
                depth -= 1;
                out.push_str("</");
                out.push_str(name.as_str());
                out.push('>');
                if let Some(t) = tail {
                    push_text(&mut out, t.as_str());
                }
                continue;
            }
        };
        if !Ref::ptr_eq(&e.class.get(), element) {
            return None;
        }
        let (tag, attrib, text, tail, children) = {
            let d = e.dict.read();
            (
                d.get("tag").cloned(),
                d.get("attrib").cloned(),
                d.get("text").cloned(),
                d.get("tail").cloned(),
                d.get("_children").cloned(),
            )
        };
        let (Some(tag @ Value::Str(_)), Some(Value::Dict(attrib)), Some(Value::List(children))) =
            (tag, attrib, children)
        else {
            return None;
        };
        let (Ok(text), Ok(tail)) = (opt_str(text), opt_str(tail)) else {
            return None;
        };
        let text = text.filter(|t| !t.as_str().is_empty());
        let tail = tail.filter(|t| !t.as_str().is_empty());
        let name = written_name(names, &tag)?;
        out.push('<');
        out.push_str(name.as_str());
        let pairs: Vec<(Value, Value)> = attrib
            .read()
            .iter()
            .map(|(k, v)| (k.value.clone(), v.clone()))
            .collect();
        for (k, v) in pairs {
            let (Value::Str(_), Value::Str(v)) = (&k, &v) else {
                return None;
            };
            let key = written_name(names, &k)?;
            out.push(' ');
            out.push_str(key.as_str());
            out.push_str("=\"");
            push_attr(&mut out, v.as_str());
            out.push('"');
        }
        let kids = children.items.read().clone();
        if text.is_some() || !kids.is_empty() || !short_empty {
            out.push('>');
            if let Some(t) = &text {
                push_text(&mut out, t.as_str());
            }
            depth += 1;
            if depth > MAX_WRITE_DEPTH {
                return None;
            }
            stack.push(Step::Close(name, tail));
            for kid in kids.into_iter().rev() {
                let Value::Instance(kid) = kid else {
                    return None;
                };
                stack.push(Step::Open(kid));
            }
        } else {
            out.push_str(" />");
            if let Some(t) = tail {
                push_text(&mut out, t.as_str());
            }
        }
    }
    Some(out)
}

/// What `sub_element` needs of the mini module: the `Element` class, its `__init__` (a class
/// whose `__init__` was replaced is left to the mini function) and the mini `SubElement`.
struct SubState {
    element: Ref<Class>,
    init: Value,
    slow: Value,
    /// The three attribute names, interned once.
    tag: Arc<str>,
    attrib: Arc<str>,
    children: Arc<str>,
}

static SUB: Global<SubState> = Global::new();

/// `setup(Element, SubElement)`: True the first time (`SubElement` may then be `sub_element`).
fn setup(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Value::Class(element), slow] = args.pos else {
        return Err(crate::err!(
            TypeError,
            "_xmlscan.setup: unexpected arguments"
        ));
    };
    let Some(init) = element.lookup("__init__") else {
        return Ok(Value::Bool(false));
    };
    let state = SubState {
        element: element.clone(),
        init,
        slow: slow.clone(),
        tag: intern_name("tag"),
        attrib: intern_name("attrib"),
        children: intern_name("_children"),
    };
    Ok(Value::Bool(SUB.set(state).is_ok()))
}

/// `SubElement(parent, tag, attrib={}, **extra)`: for a parent that is a plain `Element` (whose
/// class still has its own `__init__`) and an `attrib` dict of str keys, the new `Element` is
/// made and appended here as the mini function does (`tag`, `attrib` a new dict of `attrib`'s
/// items then `extra`'s, `_children`, in `__init__`'s order); any other call goes to the mini
/// function, which checks and reports as CPython does.
fn sub_element(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(st) = SUB.get() else {
        return Err(crate::err!(SystemError, "_xmlscan is not set up"));
    };
    // The argument counts CPython's C function checks, with its messages.
    let made = match args.pos {
        [parent, tag] => new_child(st, parent, tag, None, args.kw),
        [parent, tag, attrib] => new_child(st, parent, tag, Some(attrib), args.kw),
        [_] | [] => {
            return Err(crate::err!(
                TypeError,
                "SubElement() takes at least 2 arguments ({} given)",
                args.pos.len()
            ))
        }
        _ => {
            return Err(crate::err!(
                TypeError,
                "SubElement() takes at most 3 arguments ({} given)",
                args.pos.len()
            ))
        }
    };
    match made {
        Some(r) => r,
        None => interp.call_kw(&st.slow, args.pos, args.kw),
    }
}

fn new_child(
    st: &SubState,
    parent: &Value,
    tag: &Value,
    attrib: Option<&Value>,
    extra: &[(Arc<str>, Value)],
) -> Option<PyResult<Value>> {
    let parent = element_of(parent, &st.element)?;
    let same_init = st
        .element
        .lookup("__init__")
        .is_some_and(|f| f.id() == st.init.id());
    if !same_init || extra.iter().any(|(k, _)| &**k == "attrib") {
        return None;
    }
    let children = match parent.dict.read().get(&*st.children) {
        Some(Value::List(l)) => l.clone(),
        _ => return None,
    };
    let map = match attrib {
        None => Default::default(),
        Some(Value::Dict(d)) => {
            let map = d.read();
            if !map.keys().all(|k| matches!(k.value, Value::Str(_))) {
                return None;
            }
            map.clone()
        }
        Some(_) => return None,
    };
    let merged = Dict::from_map(map);
    for (k, v) in extra {
        drop(merged.insert(HashKey::from_str(k), v.clone()));
    }
    let inst = Ref::new_with(|| Instance::new(st.element.clone()));
    {
        let mut d = inst.dict.write();
        d.push_name(&st.tag, tag.clone());
        d.push_name(&st.attrib, Value::Dict(Ref::new(merged)));
        d.push_name(&st.children, Value::list(Vec::new()));
    }
    let child = Value::Instance(inst);
    children.items.write().push(child.clone());
    Some(Ok(child))
}
