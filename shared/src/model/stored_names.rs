//! Enums stored in the document by name: one macro writes what each of
//! them needs, so the names live once, beside the variants.

/// Declares an enum whose values are stored as fixed names, and gives it
/// `ALL` (every value, in the order declared), `as_str` (the stored name)
/// and `from_stored` (the value stored under a name, if any).
///
/// ```ignore
/// stored_names! {
///     /// Where it stands.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Status {
///         /// Not started.
///         Open => "open",
///         /// Finished.
///         Done => "done",
///     }
///
///     /// Every status, in display order.
///     ALL;
/// }
/// ```
macro_rules! stored_names {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $stored:literal, )+
        }

        $(#[$all_meta:meta])*
        ALL;
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            $(#[$all_meta])*
            pub const ALL: [$name; [$($stored),+].len()] = [$(Self::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $stored,)+
                }
            }

            /// The value stored as `text` (`None` for any other text).
            pub fn from_stored(text: &str) -> Option<Self> {
                match text {
                    $($stored => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use stored_names;
