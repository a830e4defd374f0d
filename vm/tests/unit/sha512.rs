//! Unit tests of `vm::stdlib::sha512` (moved out of the crate: see main.rs).

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn known_digests() {
    // Values from python3: hashlib.sha512(b"...").hexdigest()
    assert_eq!(
        hex(&minivm_vm::stdlib::sha512::sha512(b"abc")),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
         2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(
        hex(&minivm_vm::stdlib::sha512::sha512(b"")),
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
         47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    );
    // Two blocks (the padding spills over).
    let long = vec![b'x'; 200];
    assert_eq!(
        hex(&minivm_vm::stdlib::sha512::sha512(&long)),
        "ef978e23dc520404ae16fd17bde9ee5945610d671551d6863a5ffbc99433fc72\
         6726e51f989b886191be9325b8f8b03b1a63fe3e5eff23d126c2f41f07d2bf87"
    );
}
