//! Which frames a traceback leaves out: those of library functions that stand in for functions
//! CPython writes in C (`heapq.heappush`, `bisect.insort`, `functools.reduce`, `itertools`,
//! `operator`, `OrderedDict`, `defaultdict`, `pickle.dumps`...).
//!
//! A C function has no Python frame, so CPython's traceback of an error it raises ends at the
//! line of the program that called it (`heappush(queue, book)`), and a function of the program
//! it calls back (`reduce(f, xs)` calling `f`) appears right below that line. minivm writes
//! these functions in Python (`vm/lib/`), so their frames are left out of every traceback (the
//! printed one, `__traceback__`, `sys.exc_info()[2]`, `traceback.extract_tb`...) and of the
//! frame stack `sys._getframe` walks; the program's own frames, and the markers under their
//! lines, stay. Module-level code is never left out: an error while importing one of these
//! modules is minivm's own, to be seen.
//!
//! Functions of the same modules that CPython writes in Python (`heapq.merge`,
//! `functools.total_ordering`, `collections.Counter`...) keep their frames, as CPython shows
//! its `.py` file's frames for them.

use crate::interp::code::Code;

/// Which functions of a library module stand in for C.
enum Rule {
    /// Every function but these (qualified names, exactly): CPython writes them in Python.
    AllBut(&'static [&'static str]),
    /// The functions and classes with these top-level names, and everything nested in them
    /// (methods, closures); the rest of the module is Python in CPython too.
    Only(&'static [&'static str]),
}

/// Per library file (under `<minivm-lib>/`), what CPython writes in C.
const STAND_INS: &[(&str, Rule)] = &[
    // `_heapq`: the heap operations; merge, nsmallest and nlargest are Python (heapq.py).
    (
        "heapq.mini",
        Rule::AllBut(&["merge", "nsmallest", "nlargest"]),
    ),
    ("bisect.mini", Rule::AllBut(&[])),
    // The free-threaded wrappers that make the stand-ins above one step each (`--gil off`):
    // plumbing of their C counterparts, which have no frame either.
    ("_freethreaded.mini", Rule::AllBut(&[])),
    ("itertools.mini", Rule::AllBut(&[])),
    // `_weakref`'s proxy types (a dead proxy's ReferenceError comes from the program's line).
    (
        "weakref.mini",
        Rule::Only(&[
            "ProxyType",
            "CallableProxyType",
            "proxy",
            "_target",
            "_plain",
            "_forward_binary",
        ]),
    ),
    // Struct sequences (C types in CPython): `os.stat_result`, `time.struct_time` and the
    // setter that makes the fields of `sys.version_info`, `sys.flags`... read-only.
    ("_osinfo.mini", Rule::Only(&["stat_result"])),
    // All of `time` is C in CPython; `time.strptime` calls `_strptime._strptime_time`, whose
    // frame (Python in CPython too) comes right after the program's line.
    ("_timeinfo.mini", Rule::AllBut(&[])),
    ("_sysinfo.mini", Rule::Only(&["_readonly"])),
    ("operator.mini", Rule::AllBut(&[])),
    // `_warnings`: warn and warn_explicit (a warning turned into an error by `-W error` or a
    // filter is raised from the line that warned); showwarning and the rest are Python.
    ("warnings.mini", Rule::Only(&["warn", "warn_explicit"])),
    // `_functools`: reduce, partial (its read-only attributes), cmp_to_key and the
    // lru_cache wrapper (`_cached` makes it, `_cached_free_threaded` with the GIL off,
    // `_finish_cached` its attributes, `_call_key` its keys).
    (
        "functools.mini",
        Rule::Only(&[
            "reduce",
            "_Frozen",
            "partial",
            "cmp_to_key",
            "__getattr__",
            "_cached",
            "_cached_free_threaded",
            "_finish_cached",
            "_call_key",
        ]),
    ),
    // `_collections`: defaultdict (and `_defaultdict_fill`, its free-threaded miss), OrderedDict
    // and its views; a namedtuple's `__new__`
    // (CPython's binds its arguments without a frame of its own). Counter, ChainMap, the
    // User* classes and namedtuple itself are Python.
    (
        "collections/__init__.mini",
        Rule::Only(&[
            "defaultdict",
            "_defaultdict_fill",
            "OrderedDict",
            "odict_keys",
            "odict_values",
            "odict_items",
            "_guarded_repr",
            "_thread_ident",
            "_constructor",
        ]),
    ),
    // `_asyncio`: Future (its `__await__` is C's future iterator) and Task (its step and
    // wake-up callback, `Task.__step`/`__wakeup` in C): an awaited future's exception, or a
    // cancellation, passes through them with no frame in CPython's traceback.
    ("asyncio/futures.mini", Rule::Only(&["Future"])),
    ("asyncio/tasks.mini", Rule::Only(&["Task"])),
    // `_asyncio` also has the running-loop functions: `asyncio.create_task(c)` outside a loop
    // fails at tasks.py's `events.get_running_loop()` line, with no frame below it.
    (
        "asyncio/events.mini",
        Rule::Only(&[
            "get_running_loop",
            "_get_running_loop",
            "_set_running_loop",
            "get_event_loop",
        ]),
    ),
    // `_pickle`: dump, dumps, load, loads, and the Pickler and Unpickler classes (minivm's
    // are `_pypickle`'s, Python code standing in for C): a `__reduce__` of the program that
    // raises appears right below the program's `pickle.dumps(...)` line, and "cannot pickle
    // '_thread.lock' object" is raised at that line, as in CPython.
    (
        "pickle.mini",
        Rule::Only(&["dump", "dumps", "load", "loads", "_pypickle", "__getattr__"]),
    ),
    ("_pypickle.mini", Rule::AllBut(&[])),
    // `_csv`: the reader and writer objects and the dialect registry (a generator the program
    // reads rows from raises through `next(reader)` with no frame between); Dialect, the
    // Dict* classes and the Sniffer are Python (csv.py).
    (
        "csv.mini",
        Rule::Only(&[
            "_char",
            "_Params",
            "_reader",
            "reader",
            "_writer",
            "writer",
            "field_size_limit",
            "register_dialect",
            "unregister_dialect",
            "get_dialect",
            "list_dialects",
        ]),
    ),
    // `_contextvars`: all of it (`Context.run` calling the program's function, as
    // `asyncio.to_thread` and a loop's callbacks do, shows no frame of its own).
    ("contextvars.mini", Rule::AllBut(&[])),
    // A module `__getattr__` CPython's module does not have: minivm's loads names on first
    // use (asyncio's API, `typing.Pattern`, `importlib.util`...) or refuses a few. A name the
    // module lacks is CPython's AttributeError at the program's line (`asyncio.coroutine`,
    // gone in 3.11), with no frame of the lookup. (functools' and pickle's are above.)
    ("asyncio/__init__.mini", Rule::Only(&["__getattr__"])),
    ("typing.mini", Rule::Only(&["__getattr__"])),
    ("importlib/__init__.mini", Rule::Only(&["__getattr__"])),
    ("xmlrpc/server.mini", Rule::Only(&["__getattr__"])),
    ("doctest.mini", Rule::Only(&["__getattr__"])),
];

/// Whether frames running `code` are left out of tracebacks and frame stacks (see the module
/// comment). Read once per frame an exception passes through, and per frame `sys._getframe`
/// lists: a prefix test settles every frame outside the library.
pub(crate) fn hidden(code: &Code) -> bool {
    let Some(file) = code
        .head
        .filename
        .strip_prefix(crate::stdlib::minilib::PREFIX)
        .and_then(|f| f.strip_prefix('/'))
    else {
        return false;
    };
    let Some((_, rule)) = STAND_INS.iter().find(|(f, _)| *f == file) else {
        return false;
    };
    let qualname: &str = &code.qualname;
    if qualname == "<module>" {
        return false;
    }
    match rule {
        Rule::AllBut(shown) => !shown.contains(&qualname),
        Rule::Only(names) => {
            let top = qualname.split('.').next().unwrap_or(qualname);
            names.contains(&top)
        }
    }
}
