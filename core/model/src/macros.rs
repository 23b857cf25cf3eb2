//! The `flags!` macro: bit-set newtypes over `u64` (permissions, intents, user flags, ...) with
//! named constants, set operations and serde as a JSON integer or a decimal string.

/// Declares a bit-set newtype.
///
/// ```ignore
/// flags! {
///     /// Docs.
///     pub struct Name: integer {   // or `string` for decimal-string serialisation
///         /// Docs.
///         const A = 1 << 0;
///     }
/// }
/// ```
///
/// Undefined bits survive deserialisation (`from_bits`) so that values Accord does not know yet
/// round-trip; `undefined_bits` and `from_bits_truncate` let callers reject or strip them.
/// `!x` is the complement within the defined bits.
macro_rules! flags {
    (
        $(#[$meta:meta])*
        pub struct $name:ident: $wire:ident {
            $( $(#[$fmeta:meta])* const $flag:ident = $value:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(u64);

        #[allow(clippy::identity_op, clippy::eq_op)]
        impl $name {
            $( $(#[$fmeta])* pub const $flag: $name = $name($value); )*

            /// Every defined flag with its name, in declaration order.
            pub const NAMED: &'static [(&'static str, $name)] = &[$((stringify!($flag), $name::$flag)),*];

            /// The empty set.
            pub const fn empty() -> Self {
                Self(0)
            }

            /// Every defined flag.
            pub const fn all() -> Self {
                Self(0 $(| $value)*)
            }

            /// Wraps raw bits, keeping undefined ones.
            pub const fn from_bits(bits: u64) -> Self {
                Self(bits)
            }

            /// Wraps raw bits, dropping undefined ones.
            pub const fn from_bits_truncate(bits: u64) -> Self {
                Self(bits & Self::all().0)
            }

            /// The raw bits.
            pub const fn bits(self) -> u64 {
                self.0
            }

            /// The bits set here that no defined flag uses.
            pub const fn undefined_bits(self) -> u64 {
                self.0 & !Self::all().0
            }

            /// Whether no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// Whether every bit of `other` is set here.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether any bit of `other` is set here.
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// Both sets together.
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }

            /// The bits set in both.
            pub const fn intersection(self, other: Self) -> Self {
                Self(self.0 & other.0)
            }

            /// The bits of `self` that are not in `other`.
            pub const fn difference(self, other: Self) -> Self {
                Self(self.0 & !other.0)
            }

            /// Sets the bits of `other`.
            pub fn insert(&mut self, other: Self) {
                self.0 |= other.0;
            }

            /// Clears the bits of `other`.
            pub fn remove(&mut self, other: Self) {
                self.0 &= !other.0;
            }

            /// Sets or clears the bits of `other`.
            pub fn set(&mut self, other: Self, value: bool) {
                if value {
                    self.insert(other);
                } else {
                    self.remove(other);
                }
            }

            /// Looks a flag up by its name (`"SEND_MESSAGES"`).
            pub fn from_name(name: &str) -> Option<Self> {
                Self::NAMED.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
            }

            /// The names of the defined flags set here, in declaration order.
            pub fn names(self) -> Vec<&'static str> {
                Self::NAMED
                    .iter()
                    .filter(|(_, f)| f.0 != 0 && self.contains(*f))
                    .map(|(n, _)| *n)
                    .collect()
            }
        }

        impl std::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }
        impl std::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }
        impl std::ops::BitAnd for $name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }
        impl std::ops::BitAndAssign for $name {
            fn bitand_assign(&mut self, rhs: Self) {
                self.0 &= rhs.0;
            }
        }
        impl std::ops::BitXor for $name {
            type Output = Self;
            fn bitxor(self, rhs: Self) -> Self {
                Self(self.0 ^ rhs.0)
            }
        }
        impl std::ops::Sub for $name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                self.difference(rhs)
            }
        }
        impl std::ops::Not for $name {
            type Output = Self;
            /// The complement within the defined flags.
            fn not(self) -> Self {
                Self(!self.0 & Self::all().0)
            }
        }
        impl std::iter::FromIterator<$name> for $name {
            fn from_iter<I: IntoIterator<Item = $name>>(iter: I) -> Self {
                iter.into_iter().fold(Self::empty(), |acc, f| acc | f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                let mut first = true;
                for name in self.names() {
                    if !first {
                        f.write_str(" | ")?;
                    }
                    f.write_str(name)?;
                    first = false;
                }
                let rest = self.undefined_bits();
                if rest != 0 {
                    if !first {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{rest:#x}")?;
                }
                f.write_str(")")
            }
        }

        flags!(@serde $wire $name);
    };

    (@serde integer $name:ident) => {
        /// Serialised as a JSON integer.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u64(self.0)
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <u64 as serde::Deserialize>::deserialize(d).map(Self)
            }
        }
    };

    (@serde string $name:ident) => {
        /// Serialised as a decimal string; a string or a non-negative integer is accepted.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any($crate::macros::DecimalBitsVisitor).map(Self)
            }
        }
    };
}

/// Reads a bit set written as a decimal string or a non-negative integer.
pub(crate) struct DecimalBitsVisitor;

impl serde::de::Visitor<'_> for DecimalBitsVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a bit set as a decimal string or an integer")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("Value \"{v}\" is not a valid bit set.")))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u64, E> {
        if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom(format!("Value \"{v}\" is not a valid bit set.")));
        }
        v.parse()
            .map_err(|_| E::custom(format!("Value \"{v}\" is not a valid bit set.")))
    }
}
