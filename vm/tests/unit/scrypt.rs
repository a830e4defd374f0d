//! Unit tests of `vm::stdlib::scrypt` (the key derivation itself; its arguments and errors are
//! the script test hashlib/scrypt's).

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 7914's first two test vectors (section 12).
#[test]
fn rfc_7914_vectors() {
    let k = minivm_vm::stdlib::scrypt::derive(b"", b"", 16, 1, 1, 64).unwrap_or_default();
    assert_eq!(
        hex(&k),
        "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede2144\
         2fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
    );
    let k = minivm_vm::stdlib::scrypt::derive(b"password", b"NaCl", 1024, 8, 16, 64)
        .unwrap_or_default();
    assert_eq!(
        hex(&k),
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
         2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
    );
}

/// A shorter key is the start of the longer one (PBKDF2's blocks come in order).
#[test]
fn short_key_is_a_prefix() {
    let long = minivm_vm::stdlib::scrypt::derive(b"pw", b"salt", 4, 2, 3, 80).unwrap_or_default();
    let short = minivm_vm::stdlib::scrypt::derive(b"pw", b"salt", 4, 2, 3, 7).unwrap_or_default();
    assert_eq!(long.len(), 80);
    assert_eq!(&long[..7], &short[..]);
}
