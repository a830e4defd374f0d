//! Tests for the `num` module: hand-written cases plus data-driven comparisons against
//! python3 3.11 output stored in `testdata/*.txt` (regenerate with
//! `python3 vm/src/num/testdata/gen_testdata.py`).

use minivm_vm::num::format_spec::int_to_str_radix;
use minivm_vm::num::*;

fn f(bits: &str) -> f64 {
    f64::from_bits(u64::from_str_radix(bits, 16).expect("bad float bits in test data"))
}

fn fbits(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

fn enc_err(e: &NumError) -> String {
    match e {
        NumError::Overflow(m) if *m == INT_OVERFLOW => "E:OverflowError:BIG".to_string(),
        NumError::Unsupported(m) if m.contains("complex") => "E:Complex:".to_string(),
        e => format!("E:{}:{}", e.kind(), e.message()),
    }
}

/// An int result; a big one encodes as the oracle files encode results past `i64`.
fn enc_i<T: Into<Int>>(r: NumResult<T>) -> String {
    match r.map(Into::into) {
        Ok(Int::Small(v)) => format!("i:{v}"),
        Ok(Int::Big(_)) => "E:OverflowError:BIG".to_string(),
        Err(e) => enc_err(&e),
    }
}

fn enc_f(r: NumResult<f64>) -> String {
    match r {
        Ok(v) => format!("f:{}", fbits(v)),
        Err(e) => enc_err(&e),
    }
}

fn enc_s(r: NumResult<String>) -> String {
    match r {
        Ok(v) => format!("s:{v}"),
        Err(e) => enc_err(&e),
    }
}

fn unhex(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    String::from_utf8(bytes).expect("utf8")
}

/// Collects mismatches and panics with a readable report.
struct Check {
    name: &'static str,
    total: usize,
    bad: Vec<String>,
}

impl Check {
    fn new(name: &'static str) -> Check {
        Check {
            name,
            total: 0,
            bad: Vec::new(),
        }
    }
    fn eq(&mut self, ctx: &str, got: &str, want: &str) {
        self.total += 1;
        // NaN payload/sign bits differ between platforms; compare NaNs as NaN.
        let nan = |s: &str| {
            s.strip_prefix("f:")
                .and_then(|b| u64::from_str_radix(b, 16).ok())
                .is_some_and(|b| f64::from_bits(b).is_nan())
        };
        if got != want && !(nan(got) && nan(want)) {
            self.bad
                .push(format!("{ctx}: got {got:?}, python3 says {want:?}"));
        }
    }
    fn done(self) {
        assert!(self.total > 0, "{}: no cases", self.name);
        if !self.bad.is_empty() {
            let n = self.bad.len();
            let shown: Vec<&String> = self.bad.iter().take(40).collect();
            panic!(
                "{}: {} of {} cases differ from python3:\n{}",
                self.name,
                n,
                self.total,
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

#[test]
fn float_repr_matches_python() {
    let mut c = Check::new("float_repr");
    for line in include_str!("../../src/num/testdata/float_repr.txt").lines() {
        let (b, want) = line.split_once('\t').expect("line");
        c.eq(b, &float_repr(f(b)), want);
    }
    c.done();
}

#[test]
fn float_repr_examples() {
    for (x, s) in [
        (0.1, "0.1"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (1e16, "1e+16"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (123456789012345.67, "123456789012345.67"),
        (1.2345678901234567e19, "1.2345678901234567e+19"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ] {
        assert_eq!(float_repr(x), s);
    }
}

#[test]
fn format_matches_python() {
    let mut c = Check::new("format");
    for line in include_str!("../../src/num/testdata/format.txt").lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        let [kind, val, spec, want] = parts[..] else {
            panic!("bad line {line:?}")
        };
        let got = match kind {
            "float" => enc_s(format_float(f(val), spec)),
            "int" => enc_s(format_int(val.parse().expect("int"), spec)),
            "bool" => enc_s(format_bool(val == "True", spec)),
            "str" => enc_s(format_str(val, spec)),
            "bin" => format!("s:{}", int_to_str_radix(val.parse().expect("i"), 2, true)),
            "oct" => format!("s:{}", int_to_str_radix(val.parse().expect("i"), 8, true)),
            "hex" => format!("s:{}", int_to_str_radix(val.parse().expect("i"), 16, true)),
            _ => panic!("unknown kind {kind}"),
        };
        c.eq(&format!("format({kind} {val}, {spec:?})"), &got, want);
    }
    c.done();
}

#[test]
fn format_examples() {
    assert_eq!(format_float(2.675, ".2f").as_deref(), Ok("2.67"));
    assert_eq!(format_float(0.125, ".2f").as_deref(), Ok("0.12"));
    assert_eq!(format_float(1.0, "").as_deref(), Ok("1.0"));
    assert_eq!(format_float(1e16, "").as_deref(), Ok("1e+16"));
    assert_eq!(format_int(1234, "010,").as_deref(), Ok("00,001,234"));
    assert_eq!(format_bool(true, "").as_deref(), Ok("True"));
    assert_eq!(format_str("ab", "05").as_deref(), Ok("ab000"));
    assert_eq!(
        format_float(1.0, "d"),
        Err(NumError::Value(
            "Unknown format code 'd' for object of type 'float'".into()
        ))
    );
    assert_eq!(
        format_str("a", ","),
        Err(NumError::Value("Cannot specify ',' with 's'.".into()))
    );
    assert_eq!(
        format_int(1, "."),
        Err(NumError::Value("Format specifier missing precision".into()))
    );
    assert_eq!(int_to_str_radix(-255, 16, true), "-0xff");
    assert_eq!(int_to_str_radix(i64::MIN, 2, true).len(), 67);
}

fn parse_i(s: &str) -> i64 {
    s.parse().expect("int in test data")
}

#[test]
fn arith_matches_python() {
    let mut c = Check::new("arith");
    for line in include_str!("../../src/num/testdata/arith.txt").lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        let [op, a, b, want] = parts[..] else {
            panic!("bad line {line:?}")
        };
        let got = match op {
            "floordiv" => enc_i(int_floordiv(parse_i(a), parse_i(b))),
            "mod" => enc_i(int_mod(parse_i(a), parse_i(b))),
            "divmod" => match int_divmod(parse_i(a), parse_i(b)) {
                Ok((q, r)) => format!("t:i:{q},i:{r}"),
                Err(e) => enc_err(&e),
            },
            "truediv" => enc_f(int_truediv(parse_i(a), parse_i(b))),
            "add" => enc_i(int_add(parse_i(a), parse_i(b))),
            "sub" => enc_i(int_sub(parse_i(a), parse_i(b))),
            "mul" => enc_i(int_mul(parse_i(a), parse_i(b))),
            "cmpif" => {
                let o = cmp_int_float(parse_i(a), f(b));
                let v = match o {
                    Some(std::cmp::Ordering::Less) => 1,
                    Some(std::cmp::Ordering::Greater) => -1,
                    _ => 0,
                };
                format!("i:{v}")
            }
            "lshift" => enc_i(int_lshift(parse_i(a), parse_i(b))),
            "rshift" => enc_i(int_rshift(parse_i(a), parse_i(b))),
            "pow" => match int_pow(parse_i(a), parse_i(b)) {
                Ok(IntOrFloat::Int(v)) => format!("i:{v}"),
                Ok(IntOrFloat::Float(v)) => format!("f:{}", fbits(v)),
                Err(e) => enc_err(&e),
            },
            "roundi" => enc_i(int_round(parse_i(a), parse_i(b))),
            "gcd" => enc_i(gcd(parse_i(a), parse_i(b))),
            "lcm" => enc_i(lcm(parse_i(a), parse_i(b))),
            "factorial" => enc_i(factorial(parse_i(a))),
            "isqrt" => enc_i(isqrt(parse_i(a))),
            "abs" => enc_i(int_abs(parse_i(a))),
            "neg" => enc_i(int_neg(parse_i(a))),
            "powmod" => {
                let (e, m) = b.split_once(',').expect("powmod");
                enc_i(int_pow_mod(parse_i(a), parse_i(e), parse_i(m)))
            }
            "ffloordiv" => enc_f(float_floordiv(f(a), f(b))),
            "fmod" => enc_f(float_mod(f(a), f(b))),
            "fdivmod" => match float_divmod(f(a), f(b)) {
                Ok((q, r)) => format!("t:f:{},f:{}", fbits(q), fbits(r)),
                Err(e) => enc_err(&e),
            },
            "ftruediv" => enc_f(float_truediv(f(a), f(b))),
            "fpow" => enc_f(float_pow(f(a), f(b))),
            "round0" => enc_i(float_round_to_int(f(a))),
            "trunc" => enc_i(float_to_int(f(a))),
            "floor" => enc_i(float_floor(f(a))),
            "ceil" => enc_i(float_ceil(f(a))),
            "roundf" => enc_f(float_round(f(a), parse_i(b))),
            _ => panic!("unknown op {op}"),
        };
        c.eq(&format!("{op}({a}, {b})"), &got, want);
    }
    c.done();
}

#[test]
fn arith_examples() {
    assert_eq!(int_floordiv(-7, 2), Ok(-4));
    assert_eq!(int_mod(-7, 2), Ok(1));
    assert_eq!(float_mod(7.5, -2.0), Ok(-0.5));
    assert_eq!(int_truediv((1 << 53) + 1, 1), Ok(9007199254740992.0));
    assert_eq!(
        int_truediv(i64::MAX, 3),
        Ok(3074457345618258602.0 + 1.0 / 3.0)
    );
    assert_eq!(
        float_pow(0.0, -1.0),
        Err(NumError::ZeroDivision(
            "0.0 cannot be raised to a negative power"
        ))
    );
    assert!(matches!(
        float_pow(-8.0, 1.0 / 3.0),
        Err(NumError::Unsupported(_))
    ));
    assert_eq!(float_round(2.675, 2), Ok(2.67));
    assert_eq!(float_round_to_int(0.5), Ok(Int::Small(0)));
    assert_eq!(float_round_to_int(1.5), Ok(Int::Small(2)));
    assert_eq!(float_round_to_int(-0.5), Ok(Int::Small(0)));
    assert_eq!(int_round(1250, -2), Ok(1200));
    assert!(!int_float_eq((1 << 53) + 1, 9007199254740992.0));
    assert!(int_float_eq(1 << 53, 9007199254740992.0));
    assert_eq!(int_abs(i64::MIN), Err(NumError::overflow()));
    assert_eq!(int_pow(-2, 63), Ok(IntOrFloat::Int(i64::MIN)));
    assert_eq!(int_pow(2, 63), Err(NumError::overflow()));
    assert_eq!(
        float_to_int(f64::INFINITY),
        Err(NumError::Overflow(
            "cannot convert float infinity to integer"
        ))
    );
}

#[test]
fn parse_matches_python() {
    let mut c = Check::new("parse");
    for line in include_str!("../../src/num/testdata/parse.txt").lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        let [kind, s, base, want] = parts[..] else {
            panic!("bad line {line:?}")
        };
        let s = unhex(s);
        let got = match kind {
            "int" => enc_i(parse_int(&s, parse_i(base))),
            "float" => enc_f(parse_float(&s)),
            "repr" => format!("s:{}", str_repr(&s)),
            _ => panic!("unknown kind {kind}"),
        };
        let ctx = format!("{kind}({s:?}, {base})");
        c.eq(&ctx, &got, want);
    }
    c.done();
}

fn tuple_hash_of(s: &str) -> (i64, usize) {
    // Parses the space-separated element encoding from gen_testdata.py; returns the
    // hash and the number of bytes consumed.
    let b = s.as_bytes();
    let mut i = 0;
    let mut hashes = Vec::new();
    while i < b.len() {
        match b[i] {
            b' ' => i += 1,
            b')' => {
                return (hash_tuple(hashes), i + 1);
            }
            b'(' => {
                let (h, n) = tuple_hash_of(&s[i + 1..]);
                hashes.push(h);
                i += 1 + n;
            }
            _ => {
                let end = s[i..].find([' ', ')']).map_or(s.len(), |e| i + e);
                let tok = &s[i..end];
                let h = match &tok[..1] {
                    "i" => hash_int(parse_i(&tok[1..])),
                    "f" => hash_float(f(&tok[1..])),
                    _ => hash_bool(&tok[1..] == "1"),
                };
                hashes.push(h);
                i = end;
            }
        }
    }
    (hash_tuple(hashes), i)
}

#[test]
fn hash_matches_python() {
    let mut c = Check::new("hash");
    for line in include_str!("../../src/num/testdata/hash.txt").lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        let [kind, v, want] = parts[..] else {
            panic!("bad line {line:?}")
        };
        let got = match kind {
            "int" => hash_int(parse_i(v)),
            "float" => hash_float(f(v)),
            "bool" => hash_bool(v == "True"),
            "tuple" => tuple_hash_of(v).0,
            _ => panic!("unknown kind {kind}"),
        };
        c.eq(&format!("hash({kind} {v})"), &got.to_string(), want);
    }
    c.done();
    assert_eq!(hash_int(-1), -2);
    assert_eq!(hash_float(f64::INFINITY), 314159);
    assert_eq!(hash_float(f64::NAN), 0);
}

/// A set member for these tests: an int with its hash, `M(None)` the table's dummy.
#[derive(Clone, PartialEq, Debug)]
struct M(Option<i64>);

impl minivm_vm::num::settable::SetMember for M {
    fn set_hash(&self) -> i64 {
        self.0.map_or(0, hash_int)
    }
    fn dummy() -> M {
        M(None)
    }
    fn is_dummy(&self) -> bool {
        self.0.is_none()
    }
}

fn set_from(elems: &[i64]) -> SetTable<M> {
    let mut s = SetTable::new();
    for &x in elems {
        s.insert(M(Some(x)), |y| *y == M(Some(x)));
    }
    s
}

fn order(s: &SetTable<M>) -> String {
    s.iter()
        .map(|x| x.0.map_or(String::new(), |v| v.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn set_order_matches_python() {
    let mut c = Check::new("set_order");
    for line in include_str!("../../src/num/testdata/set_order.txt").lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        let [kind, ops, want] = parts[..] else {
            panic!("bad line {line:?}")
        };
        let got = match kind {
            "S" => {
                let mut s: SetTable<M> = SetTable::new();
                for op in ops.split(' ').filter(|o| !o.is_empty()) {
                    match &op[..1] {
                        "a" => {
                            let x = parse_i(&op[1..]);
                            s.insert(M(Some(x)), |y| *y == M(Some(x)));
                        }
                        "r" => {
                            let x = parse_i(&op[1..]);
                            s.remove(hash_int(x), |y| *y == M(Some(x)));
                        }
                        "p" => {
                            s.pop();
                        }
                        _ => s.clear(),
                    }
                }
                order(&s)
            }
            _ => {
                let elems: Vec<i64> = ops.split(' ').map(parse_i).collect();
                let seqset = set_from(&elems);
                let mut s = SetTable::new();
                match kind {
                    "L" => {
                        s = SetTable::from_constant_literal(
                            elems.iter().map(|&x| M(Some(x))),
                            |a, b| a == b,
                        )
                    }
                    "C" => s.merge_from(&seqset, |a, b| a == b),
                    _ => {
                        s = seqset.clone();
                        let tripled: Vec<i64> = elems.iter().map(|x| x * 3).collect();
                        s.merge_from(&set_from(&tripled), |a, b| a == b);
                    }
                }
                order(&s)
            }
        };
        c.eq(&format!("{kind} {ops}"), &got, want);
    }
    c.done();
}

#[test]
fn settable_basics() {
    let mut s = set_from(&[5, 3, 17, 1, 100, -1, 33]);
    assert_eq!(s.len(), 7);
    let m = |x: i64| M(Some(x));
    assert!(s.contains(hash_int(17), |y| *y == m(17)));
    assert_eq!(s.remove(hash_int(17), |y| *y == m(17)), Some(m(17)));
    assert!(!s.contains(hash_int(17), |y| *y == m(17)));
    assert!(!s.insert(m(5), |y| *y == m(5)));
    assert_eq!(s.len(), 6);
}

/// Tiny deterministic PRNG for the no-panic fuzz tests.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn no_panics_on_arbitrary_input() {
    let atoms = [
        "<", ">", "^", "=", "*", "0", "1", "9", "+", "-", " ", "z", "#", ",", "_", ".", "e", "f",
        "g", "%", "x", "c", "s", "n", "d", "b", "X", "é", "99", "٣", "\u{0}",
    ];
    let mut rng = Lcg(12345);
    let ints = [0, 1, -1, i64::MIN, i64::MAX, 65, 0x10ffff, 0xd800];
    let floats = [
        0.0,
        -0.0,
        1.5,
        f64::NAN,
        f64::INFINITY,
        -1e300,
        5e-324,
        2.675,
    ];
    for _ in 0..20000 {
        let n = (rng.next() % 7) as usize;
        let spec: String = (0..n).map(|_| rng.pick(&atoms)).collect();
        let i = ints[(rng.next() % ints.len() as u64) as usize];
        let x = floats[(rng.next() % floats.len() as u64) as usize];
        let _ = format_int(i, &spec);
        let _ = format_bool(i == 1, &spec);
        let _ = format_float(x, &spec);
        let _ = format_str("héllo", &spec);
        let _ = parse_int(&spec, (rng.next() % 40) as i64);
        let _ = parse_float(&spec);
        let _ = float_round(x, (rng.next() % 800) as i64 - 400);
        let _ = int_round(i, -((rng.next() % 40) as i64));
        let _ = int_pow(i, (rng.next() % 70) as i64 - 5);
        let _ = int_pow_mod(i, i, i);
        let _ = float_pow(x, -x);
    }
}

#[test]
fn exact_round_examples() {
    assert_eq!(format_float(0.375, ".2f").as_deref(), Ok("0.38"));
    assert_eq!(format_float(2.5, ".0f").as_deref(), Ok("2"));
    assert_eq!(format_float(5e-324, ".1e").as_deref(), Ok("4.9e-324"));
    assert_eq!(format_float(1e300, ".0f").map(|s| s.len()), Ok(301));
    assert_eq!(int_round(i64::MAX, -19), Err(NumError::overflow()));
    assert_eq!(int_round(i64::MAX, -20), Ok(0));
}

#[test]
fn bigint_examples() {
    use minivm_vm::num::bigint::{self, BigInt};
    let p = |e: u32| BigInt::from(2).pow(e);
    // Conversions round half to even, once.
    assert_eq!(bigint::to_f64(&(p(54) + 2)), Ok(18014398509481984.0));
    assert_eq!(bigint::to_f64(&(p(54) + 6)), Ok(18014398509481992.0));
    assert!(bigint::to_f64(&p(1024)).is_err());
    assert_eq!(bigint::to_f64(&(p(1024) - p(971))), Ok(f64::MAX));
    assert!(bigint::to_f64(&(p(1024) - p(970))).is_err());
    // True division is correctly rounded, with subnormal results too.
    assert_eq!(
        bigint::truediv(&p(100), &BigInt::from(3)),
        Ok(4.2255020007607644e29)
    );
    assert_eq!(bigint::truediv(&BigInt::from(1), &p(1074)), Ok(5e-324));
    assert_eq!(bigint::truediv(&BigInt::from(1), &p(1076)), Ok(0.0));
    assert_eq!(bigint::truediv(&BigInt::from(1), &p(1075)), Ok(0.0));
    assert_eq!(bigint::truediv(&BigInt::from(3), &p(1076)), Ok(5e-324));
    // The modular hash agrees with small ints and floats.
    assert_eq!(bigint::hash(&p(100)), 549_755_813_888);
    assert_eq!(bigint::hash(&-(p(61) - BigInt::from(1))), 0);
    assert_eq!(bigint::hash(&BigInt::from(-1)), -2);
    // Exact comparison with floats.
    assert_eq!(
        bigint::cmp_float(&(p(64) + 1), 2f64.powi(64)),
        Some(std::cmp::Ordering::Greater)
    );
    assert_eq!(bigint::cmp_float(&p(64), f64::NAN), None);
    // Floor semantics and two's-complement shifts of negative numbers.
    assert_eq!(
        bigint::divmod(&-p(100), &BigInt::from(7)).map(|(_, r)| r),
        Ok(BigInt::from(5))
    );
    assert_eq!(
        bigint::rshift(&-(p(100) + BigInt::from(1)), &BigInt::from(100)),
        Ok(BigInt::from(-2))
    );
    assert_eq!(
        bigint::lshift(&BigInt::from(1), &p(62)),
        Err(NumError::Memory)
    );
    assert_eq!(
        bigint::pow_mod(&BigInt::from(3), &BigInt::from(-1), &BigInt::from(-7)),
        Ok(BigInt::from(-2))
    );
    assert_eq!(Int::from_big(-p(63)), Int::Small(i64::MIN));
}
