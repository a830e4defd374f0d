//! The library written in the mini language itself (stage 4, the VM's standard library): the
//! `.mini` files under `vm/lib/`, embedded in the binary with `include_str!`. The import system
//! (`interp/modules.rs`) looks here after the built-in Rust modules and the script's directory,
//! as CPython looks in its `Lib/` after the script's directory.

/// Tracebacks name a library file `<minivm-lib>/functools.mini`; a package's `__path__` is
/// `<minivm-lib>/concurrent`, which tells the import system to look in this table for submodules.
pub const PREFIX: &str = "<minivm-lib>";

/// Every library file, by its path under `vm/lib/`. A package `a` is `a/__init__.mini`; its
/// submodule `a.b` is `a/b.mini` (or `a/b/__init__.mini`). Keep this table sorted;
/// `vm/tests/unit/minilib.rs` checks it lists every file of `vm/lib/` and nothing else.
pub static FILES: &[(&str, &str)] = &[
    ("__future__.mini", include_str!("../../lib/__future__.mini")),
    ("_attrdict.mini", include_str!("../../lib/_attrdict.mini")),
    (
        "_bufferedio.mini",
        include_str!("../../lib/_bufferedio.mini"),
    ),
    (
        "_compat_pickle.mini",
        include_str!("../../lib/_compat_pickle.mini"),
    ),
    (
        "_freethreaded.mini",
        include_str!("../../lib/_freethreaded.mini"),
    ),
    (
        "_inspectinfo.mini",
        include_str!("../../lib/_inspectinfo.mini"),
    ),
    ("_osinfo.mini", include_str!("../../lib/_osinfo.mini")),
    ("_pickle.mini", include_str!("../../lib/_pickle.mini")),
    (
        "_posixshmem.mini",
        include_str!("../../lib/_posixshmem.mini"),
    ),
    ("_pypickle.mini", include_str!("../../lib/_pypickle.mini")),
    ("_queue.mini", include_str!("../../lib/_queue.mini")),
    ("_queueinfo.mini", include_str!("../../lib/_queueinfo.mini")),
    ("_sitehelp.mini", include_str!("../../lib/_sitehelp.mini")),
    (
        "_socketinfo.mini",
        include_str!("../../lib/_socketinfo.mini"),
    ),
    ("_strptime.mini", include_str!("../../lib/_strptime.mini")),
    ("_sysinfo.mini", include_str!("../../lib/_sysinfo.mini")),
    (
        "_tempfileinfo.mini",
        include_str!("../../lib/_tempfileinfo.mini"),
    ),
    (
        "_textwrapper.mini",
        include_str!("../../lib/_textwrapper.mini"),
    ),
    ("_thread.mini", include_str!("../../lib/_thread.mini")),
    (
        "_threadinfo.mini",
        include_str!("../../lib/_threadinfo.mini"),
    ),
    ("_timeinfo.mini", include_str!("../../lib/_timeinfo.mini")),
    (
        "_tracebackinfo.mini",
        include_str!("../../lib/_tracebackinfo.mini"),
    ),
    ("_types.mini", include_str!("../../lib/_types.mini")),
    ("_union.mini", include_str!("../../lib/_union.mini")),
    ("abc.mini", include_str!("../../lib/abc.mini")),
    ("argparse.mini", include_str!("../../lib/argparse.mini")),
    ("ast.mini", include_str!("../../lib/ast.mini")),
    (
        "asyncio/__init__.mini",
        include_str!("../../lib/asyncio/__init__.mini"),
    ),
    (
        "asyncio/__main__.mini",
        include_str!("../../lib/asyncio/__main__.mini"),
    ),
    (
        "asyncio/base_events.mini",
        include_str!("../../lib/asyncio/base_events.mini"),
    ),
    (
        "asyncio/coroutines.mini",
        include_str!("../../lib/asyncio/coroutines.mini"),
    ),
    (
        "asyncio/events.mini",
        include_str!("../../lib/asyncio/events.mini"),
    ),
    (
        "asyncio/exceptions.mini",
        include_str!("../../lib/asyncio/exceptions.mini"),
    ),
    (
        "asyncio/format_helpers.mini",
        include_str!("../../lib/asyncio/format_helpers.mini"),
    ),
    (
        "asyncio/futures.mini",
        include_str!("../../lib/asyncio/futures.mini"),
    ),
    (
        "asyncio/locks.mini",
        include_str!("../../lib/asyncio/locks.mini"),
    ),
    (
        "asyncio/log.mini",
        include_str!("../../lib/asyncio/log.mini"),
    ),
    (
        "asyncio/mixins.mini",
        include_str!("../../lib/asyncio/mixins.mini"),
    ),
    (
        "asyncio/protocols.mini",
        include_str!("../../lib/asyncio/protocols.mini"),
    ),
    (
        "asyncio/queues.mini",
        include_str!("../../lib/asyncio/queues.mini"),
    ),
    (
        "asyncio/runners.mini",
        include_str!("../../lib/asyncio/runners.mini"),
    ),
    (
        "asyncio/selector_events.mini",
        include_str!("../../lib/asyncio/selector_events.mini"),
    ),
    (
        "asyncio/streams.mini",
        include_str!("../../lib/asyncio/streams.mini"),
    ),
    (
        "asyncio/subprocess.mini",
        include_str!("../../lib/asyncio/subprocess.mini"),
    ),
    (
        "asyncio/taskgroups.mini",
        include_str!("../../lib/asyncio/taskgroups.mini"),
    ),
    (
        "asyncio/tasks.mini",
        include_str!("../../lib/asyncio/tasks.mini"),
    ),
    (
        "asyncio/threads.mini",
        include_str!("../../lib/asyncio/threads.mini"),
    ),
    (
        "asyncio/timeouts.mini",
        include_str!("../../lib/asyncio/timeouts.mini"),
    ),
    (
        "asyncio/transports.mini",
        include_str!("../../lib/asyncio/transports.mini"),
    ),
    (
        "asyncio/trsock.mini",
        include_str!("../../lib/asyncio/trsock.mini"),
    ),
    (
        "asyncio/unix_events.mini",
        include_str!("../../lib/asyncio/unix_events.mini"),
    ),
    ("base64.mini", include_str!("../../lib/base64.mini")),
    ("bisect.mini", include_str!("../../lib/bisect.mini")),
    ("bz2.mini", include_str!("../../lib/bz2.mini")),
    ("cProfile.mini", include_str!("../../lib/cProfile.mini")),
    ("calendar.mini", include_str!("../../lib/calendar.mini")),
    ("cgi.mini", include_str!("../../lib/cgi.mini")),
    ("cmd.mini", include_str!("../../lib/cmd.mini")),
    ("codecs.mini", include_str!("../../lib/codecs.mini")),
    (
        "collections/__init__.mini",
        include_str!("../../lib/collections/__init__.mini"),
    ),
    (
        "collections/abc.mini",
        include_str!("../../lib/collections/abc.mini"),
    ),
    ("colorsys.mini", include_str!("../../lib/colorsys.mini")),
    (
        "concurrent/__init__.mini",
        include_str!("../../lib/concurrent/__init__.mini"),
    ),
    (
        "concurrent/futures/__init__.mini",
        include_str!("../../lib/concurrent/futures/__init__.mini"),
    ),
    (
        "concurrent/futures/_base.mini",
        include_str!("../../lib/concurrent/futures/_base.mini"),
    ),
    (
        "concurrent/futures/process.mini",
        include_str!("../../lib/concurrent/futures/process.mini"),
    ),
    (
        "concurrent/futures/thread.mini",
        include_str!("../../lib/concurrent/futures/thread.mini"),
    ),
    (
        "configparser.mini",
        include_str!("../../lib/configparser.mini"),
    ),
    ("contextlib.mini", include_str!("../../lib/contextlib.mini")),
    (
        "contextvars.mini",
        include_str!("../../lib/contextvars.mini"),
    ),
    ("copy.mini", include_str!("../../lib/copy.mini")),
    ("copyreg.mini", include_str!("../../lib/copyreg.mini")),
    ("csv.mini", include_str!("../../lib/csv.mini")),
    (
        "dataclasses.mini",
        include_str!("../../lib/dataclasses.mini"),
    ),
    ("datetime.mini", include_str!("../../lib/datetime.mini")),
    (
        "dbm/__init__.mini",
        include_str!("../../lib/dbm/__init__.mini"),
    ),
    ("dbm/dumb.mini", include_str!("../../lib/dbm/dumb.mini")),
    ("decimal.mini", include_str!("../../lib/decimal.mini")),
    ("difflib.mini", include_str!("../../lib/difflib.mini")),
    ("dis.mini", include_str!("../../lib/dis.mini")),
    ("doctest.mini", include_str!("../../lib/doctest.mini")),
    (
        "email/__init__.mini",
        include_str!("../../lib/email/__init__.mini"),
    ),
    (
        "email/utils.mini",
        include_str!("../../lib/email/utils.mini"),
    ),
    ("enum.mini", include_str!("../../lib/enum.mini")),
    ("errno.mini", include_str!("../../lib/errno.mini")),
    (
        "faulthandler.mini",
        include_str!("../../lib/faulthandler.mini"),
    ),
    ("filecmp.mini", include_str!("../../lib/filecmp.mini")),
    ("fileinput.mini", include_str!("../../lib/fileinput.mini")),
    ("fnmatch.mini", include_str!("../../lib/fnmatch.mini")),
    ("fractions.mini", include_str!("../../lib/fractions.mini")),
    ("functools.mini", include_str!("../../lib/functools.mini")),
    ("getopt.mini", include_str!("../../lib/getopt.mini")),
    ("getpass.mini", include_str!("../../lib/getpass.mini")),
    ("gettext.mini", include_str!("../../lib/gettext.mini")),
    ("glob.mini", include_str!("../../lib/glob.mini")),
    ("graphlib.mini", include_str!("../../lib/graphlib.mini")),
    ("grp.mini", include_str!("../../lib/grp.mini")),
    ("gzip.mini", include_str!("../../lib/gzip.mini")),
    ("hashlib.mini", include_str!("../../lib/hashlib.mini")),
    ("heapq.mini", include_str!("../../lib/heapq.mini")),
    ("hmac.mini", include_str!("../../lib/hmac.mini")),
    (
        "html/__init__.mini",
        include_str!("../../lib/html/__init__.mini"),
    ),
    (
        "html/entities.mini",
        include_str!("../../lib/html/entities.mini"),
    ),
    (
        "html/parser.mini",
        include_str!("../../lib/html/parser.mini"),
    ),
    (
        "http/__init__.mini",
        include_str!("../../lib/http/__init__.mini"),
    ),
    (
        "http/client.mini",
        include_str!("../../lib/http/client.mini"),
    ),
    (
        "http/server.mini",
        include_str!("../../lib/http/server.mini"),
    ),
    ("imp.mini", include_str!("../../lib/imp.mini")),
    (
        "importlib/__init__.mini",
        include_str!("../../lib/importlib/__init__.mini"),
    ),
    (
        "importlib/_bootstrap.mini",
        include_str!("../../lib/importlib/_bootstrap.mini"),
    ),
    (
        "importlib/abc.mini",
        include_str!("../../lib/importlib/abc.mini"),
    ),
    (
        "importlib/machinery.mini",
        include_str!("../../lib/importlib/machinery.mini"),
    ),
    (
        "importlib/metadata.mini",
        include_str!("../../lib/importlib/metadata.mini"),
    ),
    (
        "importlib/resources/__init__.mini",
        include_str!("../../lib/importlib/resources/__init__.mini"),
    ),
    (
        "importlib/resources/abc.mini",
        include_str!("../../lib/importlib/resources/abc.mini"),
    ),
    (
        "importlib/util.mini",
        include_str!("../../lib/importlib/util.mini"),
    ),
    ("ipaddress.mini", include_str!("../../lib/ipaddress.mini")),
    ("itertools.mini", include_str!("../../lib/itertools.mini")),
    (
        "json/__init__.mini",
        include_str!("../../lib/json/__init__.mini"),
    ),
    (
        "json/decoder.mini",
        include_str!("../../lib/json/decoder.mini"),
    ),
    (
        "json/encoder.mini",
        include_str!("../../lib/json/encoder.mini"),
    ),
    ("json/tool.mini", include_str!("../../lib/json/tool.mini")),
    ("keyword.mini", include_str!("../../lib/keyword.mini")),
    ("locale.mini", include_str!("../../lib/locale.mini")),
    (
        "logging/__init__.mini",
        include_str!("../../lib/logging/__init__.mini"),
    ),
    (
        "logging/config.mini",
        include_str!("../../lib/logging/config.mini"),
    ),
    (
        "logging/handlers.mini",
        include_str!("../../lib/logging/handlers.mini"),
    ),
    ("mimetypes.mini", include_str!("../../lib/mimetypes.mini")),
    (
        "multiprocessing/__init__.mini",
        include_str!("../../lib/multiprocessing/__init__.mini"),
    ),
    (
        "multiprocessing/connection.mini",
        include_str!("../../lib/multiprocessing/connection.mini"),
    ),
    (
        "multiprocessing/context.mini",
        include_str!("../../lib/multiprocessing/context.mini"),
    ),
    (
        "multiprocessing/dummy/__init__.mini",
        include_str!("../../lib/multiprocessing/dummy/__init__.mini"),
    ),
    (
        "multiprocessing/managers.mini",
        include_str!("../../lib/multiprocessing/managers.mini"),
    ),
    (
        "multiprocessing/pool.mini",
        include_str!("../../lib/multiprocessing/pool.mini"),
    ),
    (
        "multiprocessing/popen_fork.mini",
        include_str!("../../lib/multiprocessing/popen_fork.mini"),
    ),
    (
        "multiprocessing/process.mini",
        include_str!("../../lib/multiprocessing/process.mini"),
    ),
    (
        "multiprocessing/queues.mini",
        include_str!("../../lib/multiprocessing/queues.mini"),
    ),
    (
        "multiprocessing/reduction.mini",
        include_str!("../../lib/multiprocessing/reduction.mini"),
    ),
    (
        "multiprocessing/resource_tracker.mini",
        include_str!("../../lib/multiprocessing/resource_tracker.mini"),
    ),
    (
        "multiprocessing/shared_memory.mini",
        include_str!("../../lib/multiprocessing/shared_memory.mini"),
    ),
    (
        "multiprocessing/sharedctypes.mini",
        include_str!("../../lib/multiprocessing/sharedctypes.mini"),
    ),
    (
        "multiprocessing/spawn.mini",
        include_str!("../../lib/multiprocessing/spawn.mini"),
    ),
    (
        "multiprocessing/synchronize.mini",
        include_str!("../../lib/multiprocessing/synchronize.mini"),
    ),
    (
        "multiprocessing/util.mini",
        include_str!("../../lib/multiprocessing/util.mini"),
    ),
    ("numbers.mini", include_str!("../../lib/numbers.mini")),
    ("operator.mini", include_str!("../../lib/operator.mini")),
    ("optparse.mini", include_str!("../../lib/optparse.mini")),
    ("pathlib.mini", include_str!("../../lib/pathlib.mini")),
    ("pickle.mini", include_str!("../../lib/pickle.mini")),
    ("pkgutil.mini", include_str!("../../lib/pkgutil.mini")),
    ("platform.mini", include_str!("../../lib/platform.mini")),
    ("posix.mini", include_str!("../../lib/posix.mini")),
    ("posixpath.mini", include_str!("../../lib/posixpath.mini")),
    ("pprint.mini", include_str!("../../lib/pprint.mini")),
    ("profile.mini", include_str!("../../lib/profile.mini")),
    ("pstats.mini", include_str!("../../lib/pstats.mini")),
    ("pwd.mini", include_str!("../../lib/pwd.mini")),
    ("pyexpat.mini", include_str!("../../lib/pyexpat.mini")),
    ("random.mini", include_str!("../../lib/random.mini")),
    ("re.mini", include_str!("../../lib/re.mini")),
    ("readline.mini", include_str!("../../lib/readline.mini")),
    ("reprlib.mini", include_str!("../../lib/reprlib.mini")),
    ("resource.mini", include_str!("../../lib/resource.mini")),
    (
        "rlcompleter.mini",
        include_str!("../../lib/rlcompleter.mini"),
    ),
    ("sched.mini", include_str!("../../lib/sched.mini")),
    ("secrets.mini", include_str!("../../lib/secrets.mini")),
    ("selectors.mini", include_str!("../../lib/selectors.mini")),
    ("shelve.mini", include_str!("../../lib/shelve.mini")),
    ("shlex.mini", include_str!("../../lib/shlex.mini")),
    ("shutil.mini", include_str!("../../lib/shutil.mini")),
    ("signal.mini", include_str!("../../lib/signal.mini")),
    (
        "socketserver.mini",
        include_str!("../../lib/socketserver.mini"),
    ),
    ("stat.mini", include_str!("../../lib/stat.mini")),
    ("statistics.mini", include_str!("../../lib/statistics.mini")),
    ("string.mini", include_str!("../../lib/string.mini")),
    ("struct.mini", include_str!("../../lib/struct.mini")),
    ("subprocess.mini", include_str!("../../lib/subprocess.mini")),
    ("sysconfig.mini", include_str!("../../lib/sysconfig.mini")),
    ("tarfile.mini", include_str!("../../lib/tarfile.mini")),
    ("textwrap.mini", include_str!("../../lib/textwrap.mini")),
    ("this.mini", include_str!("../../lib/this.mini")),
    ("timeit.mini", include_str!("../../lib/timeit.mini")),
    ("token.mini", include_str!("../../lib/token.mini")),
    ("tokenize.mini", include_str!("../../lib/tokenize.mini")),
    (
        "tomllib/__init__.mini",
        include_str!("../../lib/tomllib/__init__.mini"),
    ),
    (
        "tracemalloc.mini",
        include_str!("../../lib/tracemalloc.mini"),
    ),
    ("typing.mini", include_str!("../../lib/typing.mini")),
    (
        "unittest/__init__.mini",
        include_str!("../../lib/unittest/__init__.mini"),
    ),
    (
        "unittest/__main__.mini",
        include_str!("../../lib/unittest/__main__.mini"),
    ),
    (
        "unittest/mock.mini",
        include_str!("../../lib/unittest/mock.mini"),
    ),
    (
        "urllib/__init__.mini",
        include_str!("../../lib/urllib/__init__.mini"),
    ),
    (
        "urllib/error.mini",
        include_str!("../../lib/urllib/error.mini"),
    ),
    (
        "urllib/parse.mini",
        include_str!("../../lib/urllib/parse.mini"),
    ),
    (
        "urllib/request.mini",
        include_str!("../../lib/urllib/request.mini"),
    ),
    (
        "urllib/response.mini",
        include_str!("../../lib/urllib/response.mini"),
    ),
    ("uuid.mini", include_str!("../../lib/uuid.mini")),
    ("warnings.mini", include_str!("../../lib/warnings.mini")),
    ("wave.mini", include_str!("../../lib/wave.mini")),
    ("weakref.mini", include_str!("../../lib/weakref.mini")),
    ("webbrowser.mini", include_str!("../../lib/webbrowser.mini")),
    (
        "wsgiref/__init__.mini",
        include_str!("../../lib/wsgiref/__init__.mini"),
    ),
    (
        "wsgiref/handlers.mini",
        include_str!("../../lib/wsgiref/handlers.mini"),
    ),
    (
        "wsgiref/headers.mini",
        include_str!("../../lib/wsgiref/headers.mini"),
    ),
    (
        "wsgiref/simple_server.mini",
        include_str!("../../lib/wsgiref/simple_server.mini"),
    ),
    (
        "wsgiref/types.mini",
        include_str!("../../lib/wsgiref/types.mini"),
    ),
    (
        "wsgiref/util.mini",
        include_str!("../../lib/wsgiref/util.mini"),
    ),
    (
        "wsgiref/validate.mini",
        include_str!("../../lib/wsgiref/validate.mini"),
    ),
    (
        "xml/__init__.mini",
        include_str!("../../lib/xml/__init__.mini"),
    ),
    (
        "xml/dom/__init__.mini",
        include_str!("../../lib/xml/dom/__init__.mini"),
    ),
    (
        "xml/dom/minidom.mini",
        include_str!("../../lib/xml/dom/minidom.mini"),
    ),
    (
        "xml/etree/ElementTree.mini",
        include_str!("../../lib/xml/etree/ElementTree.mini"),
    ),
    (
        "xml/etree/__init__.mini",
        include_str!("../../lib/xml/etree/__init__.mini"),
    ),
    (
        "xml/parsers/__init__.mini",
        include_str!("../../lib/xml/parsers/__init__.mini"),
    ),
    (
        "xml/parsers/expat.mini",
        include_str!("../../lib/xml/parsers/expat.mini"),
    ),
    (
        "xmlrpc/__init__.mini",
        include_str!("../../lib/xmlrpc/__init__.mini"),
    ),
    (
        "xmlrpc/client.mini",
        include_str!("../../lib/xmlrpc/client.mini"),
    ),
    (
        "xmlrpc/server.mini",
        include_str!("../../lib/xmlrpc/server.mini"),
    ),
    ("zipfile.mini", include_str!("../../lib/zipfile.mini")),
    ("zoneinfo.mini", include_str!("../../lib/zoneinfo.mini")),
];

/// The source of `vm/lib/<rel>`, if the library has that file.
///
/// For whoever works on the library: with `MINIVM_LIB_DIR=vm/lib` set, a file the table lists is
/// read from that directory instead, so an edited `.mini` file runs without rebuilding minivm.
/// (The table still decides which files exist; a new file needs its line above and a build.)
pub fn source(rel: &str) -> Option<&'static str> {
    let i = FILES.binary_search_by(|(p, _)| (*p).cmp(rel)).ok()?;
    Some(from_lib_dir(rel).unwrap_or(FILES[i].1))
}

/// `rel` read from `$MINIVM_LIB_DIR`, once per process (the text is kept for the process's life,
/// as the embedded sources are); `None` when the variable is unset or the file unreadable.
fn from_lib_dir(rel: &str) -> Option<&'static str> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static DIR: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    static READ: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let dir = DIR
        .get_or_init(|| std::env::var_os("MINIVM_LIB_DIR").map(Into::into))
        .as_ref()?;
    let mut read = READ.get_or_init(Default::default).lock().ok()?;
    if let Some(text) = read.get(rel) {
        return Some(text);
    }
    let text: &'static str = String::leak(std::fs::read_to_string(dir.join(rel)).ok()?);
    read.insert(rel.to_string(), text);
    Some(text)
}

/// The library compiled at build time by `vm/build.rs` (`minivm_compiler::serialize`): a blob
/// of (path, hash of the source, encoded code object) entries, as CPython's frozen modules.
static FROZEN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/frozen_lib.bin"));

/// The frozen entries by path (sorted, as the build script writes them), decoded once; empty if
/// the blob is not this build's format.
fn frozen_entries() -> &'static [(&'static str, u64, &'static [u8])] {
    static ENTRIES: std::sync::OnceLock<Vec<(&str, u64, &[u8])>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(|| minivm_compiler::serialize::decode_blob(FROZEN).unwrap_or_default())
}

/// The code of library module `rel` compiled at build time, if it was compiled from exactly
/// `src` (the source hash must match) and decodes cleanly; `None` means "compile `src`", so a
/// stale or damaged entry can cost time but never change what runs.
pub fn frozen(
    rel: &str,
    src: &str,
) -> Option<std::sync::Arc<minivm_compiler::bytecode::CodeObject>> {
    let entries = frozen_entries();
    let i = entries.binary_search_by(|(p, ..)| (*p).cmp(rel)).ok()?;
    let (_, hash, bytes) = entries[i];
    if hash != minivm_compiler::serialize::source_hash(src) {
        return None;
    }
    // Functions' bodies stay in `FROZEN` until they first run (`interp/code.rs`).
    minivm_compiler::serialize::decode_code_lazy(bytes)
}
