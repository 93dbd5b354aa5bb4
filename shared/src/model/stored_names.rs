//! Enums stored in the document by name: one macro writes what each of
//! them needs, so the names live once, beside the variants.

/// Declares an enum whose values are stored as fixed names, and gives it
/// `ALL` (every value, in the order declared), `as_str` (the stored name)
/// and `from_stored` (the value stored under a name, if any), and writes it
/// as a field value by that name (`From<_> for ScalarValue`). With a
/// `parse error` line it also shows as its stored name (`Display`) and
/// parses from it (`FromStr`), failing with [`OpError::Invalid`] naming
/// that field and reason.
///
/// [`OpError::Invalid`]: super::error::OpError::Invalid
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
///     parse error: "status", "unknown status";
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
        $( parse error: $field:literal, $reason:literal; )?
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

        /// Stored as its name.
        impl From<$name> for automerge::ScalarValue {
            fn from(value: $name) -> Self {
                automerge::ScalarValue::Str(value.as_str().into())
            }
        }

        $(
            impl ::std::fmt::Display for $name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            impl ::std::str::FromStr for $name {
                type Err = $crate::model::error::OpError;

                fn from_str(text: &str) -> Result<Self, Self::Err> {
                    Self::from_stored(text).ok_or($crate::model::error::OpError::Invalid {
                        field: $field,
                        reason: $reason,
                    })
                }
            }
        )?
    };
}

pub(crate) use stored_names;
