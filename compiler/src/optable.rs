//! Stage 3 (the bytecode format): the machinery behind the one opcode table in `bytecode.rs`.
//!
//! `bytecode.rs` declares every opcode once, in one `opcodes!` invocation, one row per opcode
//! (as Lua's `lopcodes.h`): its doc line, its operands with their kinds, its `dis` name, whether
//! the VM runs it in the hot loop or in `cold_op`, how `dis` shows its raw operand and its
//! meaning, and its stack effect. `opcodes!` (below) turns the rows into:
//!
//! * `enum Op` itself, each variant with its doc line;
//! * `Op::name`, `Op::doc`, `Op::is_hot`, `Op::stack_effect`, `Op::jump`, `Op::set_jump`,
//!   `Op::jumps_backward` and `Op::describe` (what `dis` and `--trace` print);
//! * `Op::encode`, `Op::decode` and `Op::operands_within`: an instruction as bytes (the
//!   opcode's position in the table, then its operands) for frozen code (`serialize.rs`);
//! * `OPCODES`, the table as data (`minivm dis --opcodes`, `docs/OPCODES.md`, tests);
//! * the pattern macros `hot_ops!()` and `cold_ops!()`, which the VM's dispatch loop and
//!   `cold_op` use for "every other opcode": a hot opcode without an arm in the loop, or a cold
//!   one without an arm in `cold_op`, does not compile, and neither does an arm for an opcode
//!   on the other side (an unreachable pattern is an error under `-D warnings`).
//!
//! An operand's *kind* (`operand!`) gives its Rust type and how it is shown and resolved: a
//! 16-bit `Reg` is a local slot (`local16`), a constant (`konst16`), a name (`name16`), a cell
//! (`cell16`) or a
//! jump target (`label16`, `label16_back`) depending on its kind, a `u8` a local slot (`local8`)
//! or a constant (`konst8`) where an instruction needs more operands than 16 bits each allow, and
//! jump operands are found by kind, not by a list.

/// What an operand kind means. `type K`: its Rust type; `show K, x, names`: `x` as `dis` shows
/// it; `jump K, x`: the jump target it holds, if a jump kind; `set_jump K, x, to`: point it at
/// `to` (false if `to` does not fit); `back K`: a jump kind whose target lies behind.
macro_rules! operand {
    (type count) => {
        u32
    };
    (type count16) => {
        u16
    };
    (type count8) => {
        u8
    };
    (type konst) => {
        $crate::bytecode::ConstIdx
    };
    (type konst8) => {
        u8
    };
    (type local8) => {
        u8
    };
    (type konst16) => {
        $crate::bytecode::Reg
    };
    (type local) => {
        $crate::bytecode::Local
    };
    (type local16) => {
        $crate::bytecode::Reg
    };
    (type name) => {
        $crate::bytecode::Name
    };
    (type name16) => {
        $crate::bytecode::Reg
    };
    (type cell) => {
        $crate::bytecode::Cell
    };
    (type cell16) => {
        $crate::bytecode::Reg
    };
    (type label) => {
        $crate::bytecode::Label
    };
    (type label_back) => {
        $crate::bytecode::Label
    };
    (type label16) => {
        $crate::bytecode::Reg
    };
    (type label16_back) => {
        $crate::bytecode::Reg
    };
    (type binop) => {
        $crate::bytecode::BinOp
    };
    (type cmpop) => {
        $crate::bytecode::CmpOp
    };
    (type fnflags) => {
        $crate::bytecode::MakeFunctionFlags
    };
    (type fmtflags) => {
        $crate::bytecode::FormatFlags
    };
    (type kwflag) => {
        bool
    };

    (show count, $x:expr, $names:expr) => {
        $x.to_string()
    };
    (show count16, $x:expr, $names:expr) => {
        $x.to_string()
    };
    (show count8, $x:expr, $names:expr) => {
        $x.to_string()
    };
    (show konst, $x:expr, $names:expr) => {
        $names.konst($x.0)
    };
    (show konst8, $x:expr, $names:expr) => {
        $names.konst($x.into())
    };
    (show local8, $x:expr, $names:expr) => {
        $names.local($x.into())
    };
    (show konst16, $x:expr, $names:expr) => {
        $names.konst($x.0.into())
    };
    (show local, $x:expr, $names:expr) => {
        $names.local($x.0)
    };
    (show local16, $x:expr, $names:expr) => {
        $names.local($x.0.into())
    };
    (show name, $x:expr, $names:expr) => {
        $names.name($x.0)
    };
    (show name16, $x:expr, $names:expr) => {
        $names.name($x.0.into())
    };
    (show cell, $x:expr, $names:expr) => {
        $names.cell($x.0)
    };
    (show cell16, $x:expr, $names:expr) => {
        $names.cell($x.0.into())
    };
    (show label, $x:expr, $names:expr) => {
        $x.0.to_string()
    };
    (show label_back, $x:expr, $names:expr) => {
        $x.0.to_string()
    };
    (show label16, $x:expr, $names:expr) => {
        $x.0.to_string()
    };
    (show label16_back, $x:expr, $names:expr) => {
        $x.0.to_string()
    };
    (show binop, $x:expr, $names:expr) => {
        $x.symbol().to_string()
    };
    (show cmpop, $x:expr, $names:expr) => {
        $x.symbol().to_string()
    };
    // `MAKE_FUNCTION`'s text is `code` then `, defaults, closure` when flags are set.
    (show fnflags, $x:expr, $names:expr) => {
        if $x == $crate::bytecode::MakeFunctionFlags::default() {
            String::new()
        } else {
            format!(", {}", $x)
        }
    };
    (show fmtflags, $x:expr, $names:expr) => {
        $x.to_string()
    };
    (show kwflag, $x:expr, $names:expr) => {
        if $x { "with kwargs" } else { "" }.to_string()
    };

    (jump label, $x:expr) => {
        Some($x.0)
    };
    (jump label_back, $x:expr) => {
        Some($x.0)
    };
    (jump label16, $x:expr) => {
        Some(u32::from($x.0))
    };
    (jump label16_back, $x:expr) => {
        Some(u32::from($x.0))
    };
    (jump $kind:ident, $x:expr) => {
        None::<u32>
    };

    (set_jump label, $x:expr, $to:expr) => {{
        *$x = $crate::bytecode::Label($to);
        true
    }};
    (set_jump label_back, $x:expr, $to:expr) => {{
        *$x = $crate::bytecode::Label($to);
        true
    }};
    (set_jump label16, $x:expr, $to:expr) => { operand!(set_jump16 $x, $to) };
    (set_jump label16_back, $x:expr, $to:expr) => { operand!(set_jump16 $x, $to) };
    (set_jump16 $x:expr, $to:expr) => {
        match $crate::bytecode::Reg::fit($to) {
            Some(r) => {
                *$x = r;
                true
            }
            None => false,
        }
    };
    (set_jump $kind:ident, $x:expr, $to:expr) => {
        false
    };

    // `within K, x, counts`: the operand indexes inside its code object's table (checked when
    // frozen code is loaded, `serialize.rs`).
    (within konst, $x:expr, $n:expr) => {
        ($x.0 as usize) < $n.consts
    };
    (within konst16, $x:expr, $n:expr) => {
        $x.index() < $n.consts
    };
    (within local, $x:expr, $n:expr) => {
        ($x.0 as usize) < $n.locals
    };
    (within local16, $x:expr, $n:expr) => {
        $x.index() < $n.locals
    };
    (within name, $x:expr, $n:expr) => {
        ($x.0 as usize) < $n.names
    };
    (within name16, $x:expr, $n:expr) => {
        $x.index() < $n.names
    };
    (within cell, $x:expr, $n:expr) => {
        ($x.0 as usize) < $n.cells
    };
    (within cell16, $x:expr, $n:expr) => {
        $x.index() < $n.cells
    };
    (within $kind:ident, $x:expr, $n:expr) => {
        true
    };

    (back label_back) => {
        true
    };
    (back label16_back) => {
        true
    };
    (back $kind:ident) => {
        false
    };
}

/// The opcode table: see the module doc. Each row:
///
/// ```text
/// /// doc line(s)
/// Variant(operand: kind, ..) = "DIS_NAME", hot|cold, raw(expr?), "text {operand}", effect;
/// ```
///
/// `raw` is the number `dis` prints in its operand column (an expression over the operands'
/// values), `text` the meaning it prints in parentheses (a format string over the operands as
/// their kinds show them), `effect` the stack effect (an expression over the operands' values:
/// `fall(e)`, `branch(fall, jump)`, `jump_only(e)` or `stops()`).
macro_rules! opcodes {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident $( ( $($arg:ident : $kind:ident),+ ) )?
            = $opname:literal, $temp:ident, raw($($raw:expr)?), $text:literal, $effect:expr;
    )*) => {
        /// One instruction: see the opcode table in `bytecode.rs` (each variant's doc line gives
        /// its meaning and stack effect, `[.., a, b] -> [.., a + b]` with the top on the right).
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum Op {
            $(
                $(#[doc = $doc])+
                $variant $( ( $(operand!(type $kind)),+ ) )?,
            )*
        }

        /// The opcode table as data, one entry per opcode in declaration order.
        pub const OPCODES: &[OpInfo] = &[
            $(OpInfo {
                variant: stringify!($variant),
                name: $opname,
                operands: &[$($((stringify!($arg), stringify!($kind))),+)?],
                hot: opcodes!(@hot $temp),
                doc: &[$($doc),+],
                effect: stringify!($effect),
            },)*
        ];

        impl Op {
            /// The opcode's name, as `dis`, `--trace` and `--stats` show it.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Op::$variant { .. } => $opname,)*
                }
            }

            /// The opcode's row in [`OPCODES`] (names are unique: a test checks).
            pub fn info(&self) -> &'static OpInfo {
                OPCODES.get(usize::from(self.index())).unwrap_or(&OPCODES[0])
            }

            /// The opcode's position in [`OPCODES`] (its declaration order, below 256: its
            /// first byte in frozen code): what `--stats` counts executions by.
            #[inline(always)]
            pub fn index(&self) -> u8 {
                match self {
                    $(Op::$variant { .. } => OpTag::$variant as u8,)*
                }
            }

            /// The opcode's doc line(s), as declared.
            pub fn doc(&self) -> &'static [&'static str] {
                self.info().doc
            }

            /// Whether the VM's dispatch loop runs it in its own arm (else in `cold_op`).
            pub fn is_hot(&self) -> bool {
                match self {
                    $(Op::$variant { .. } => opcodes!(@hot $temp),)*
                }
            }

            /// How the operand stack depth changes: on falling through to the next instruction
            /// (None if it never does) and on taking its jump (None if it has none).
            #[allow(unused_variables)]
            pub fn stack_effect(&self) -> (Option<i64>, Option<i64>) {
                match *self {
                    $(Op::$variant $( ( $($arg),+ ) )? => $effect,)*
                }
            }

            /// The instruction index it may jump to, if it is a jump.
            #[allow(unused_variables)]
            pub fn jump(&self) -> Option<u32> {
                match *self {
                    $(Op::$variant $( ( $($arg),+ ) )? => {
                        $($(
                            if let Some(t) = operand!(jump $kind, $arg) {
                                return Some(t);
                            }
                        )+)?
                        None
                    })*
                }
            }

            /// Point its jump at `to`: false if it has no jump, or `to` does not fit the operand.
            #[allow(unused_variables)]
            pub fn set_jump(&mut self, to: u32) -> bool {
                match self {
                    $(Op::$variant $( ( $($arg),+ ) )? => {
                        $($(
                            if operand!(set_jump $kind, $arg, to) {
                                return true;
                            }
                        )+)?
                        false
                    })*
                }
            }

            /// Whether its jump goes backward (a loop's bottom: an eval-breaker check point).
            pub fn jumps_backward(&self) -> bool {
                match self {
                    $(Op::$variant { .. } => false $($( || operand!(back $kind) )+)?,)*
                }
            }

            /// What `dis` prints: name, the raw operand column and the meaning in parentheses.
            #[allow(unused_variables)]
            pub fn describe(&self, names: &dyn OperandNames) -> Described {
                match *self {
                    $(Op::$variant $( ( $($arg),+ ) )? => {
                        let raw: Option<u32> = None $( .or(Some(u32::from($raw))) )?;
                        $($( let $arg = operand!(show $kind, $arg, names); )+)?
                        Described { name: $opname, raw, text: format!($text) }
                    })*
                }
            }
        }

        /// An opcode's position in the table, its first byte in `serialize.rs`'s encoding.
        #[derive(Clone, Copy)]
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        enum OpTag {
            $($variant,)*
        }

        const OP_TAGS: &[OpTag] = &[$(OpTag::$variant,)*];
        const _: () = assert!(OP_TAGS.len() <= 256, "an opcode's tag is one byte");

        impl Op {
            /// Append the instruction to `w`: its tag, then each operand (`serialize::Operand`).
            pub fn encode(&self, w: &mut $crate::serialize::Writer) {
                match *self {
                    $(Op::$variant $( ( $($arg),+ ) )? => {
                        w.byte(OpTag::$variant as u8);
                        $($( $crate::serialize::Operand::put(&$arg, w); )+)?
                    })*
                }
            }

            /// Read one instruction written by [`Op::encode`]; `None` if malformed.
            pub fn decode(r: &mut $crate::serialize::Reader) -> Option<Op> {
                let tag = *OP_TAGS.get(usize::from(r.byte()?))?;
                Some(match tag {
                    $(OpTag::$variant => Op::$variant $( ( $(
                        <operand!(type $kind) as $crate::serialize::Operand>::get(r)?
                    ),+ ) )?,)*
                })
            }

            /// Whether every operand that indexes a table of its code object is inside it.
            #[allow(unused_variables)]
            pub fn operands_within(&self, n: &$crate::serialize::OperandCounts) -> bool {
                match *self {
                    $(Op::$variant $( ( $($arg),+ ) )? => {
                        true $($( && operand!(within $kind, $arg, n) )+)?
                    })*
                }
            }
        }

        partition!([] [] $($temp $variant)*);
    };

    (@hot hot) => { true };
    (@hot cold) => { false };
}

/// Sort the opcodes into hot and cold (one row at a time), then define the two pattern macros
/// `hot_ops!()` and `cold_ops!()`, each `(Op::A { .. } | Op::B { .. } | ..)`.
macro_rules! partition {
    ([$($hot:ident)*] [$($cold:ident)*] hot $v:ident $($rest:tt)*) => {
        partition!([$($hot)* $v] [$($cold)*] $($rest)*);
    };
    ([$($hot:ident)*] [$($cold:ident)*] cold $v:ident $($rest:tt)*) => {
        partition!([$($hot)*] [$($cold)* $v] $($rest)*);
    };
    ([$($hot:ident)*] [$($cold:ident)*]) => {
        /// Every opcode the dispatch loop runs in its own arm, as one pattern
        /// (`(Op::Nop { .. } | ..)`): `cold_op` uses it for the opcodes it must never see.
        #[macro_export]
        macro_rules! hot_ops {
            () => { ($($crate::bytecode::Op::$hot { .. })|*) };
        }
        /// Every opcode the dispatch loop hands to `cold_op`, as one pattern.
        #[macro_export]
        macro_rules! cold_ops {
            () => { ($($crate::bytecode::Op::$cold { .. })|*) };
        }
    };
}
