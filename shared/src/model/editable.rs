//! A collection's editable fields, declared once: one macro writes, from one
//! field list, both the struct holding those fields (what adding an item
//! takes, and what its record keeps in `fields`) and the patch changing some
//! of them, so the list is not written again with `Option` around each type.

/// Declares the struct of an item's editable fields and its patch.
///
/// The fields struct is written as given. The patch gets the same fields,
/// with the same docs, each as `Option<type>`: `None` leaves the field
/// alone, `Some(value)` sets it (so an optional field is cleared with
/// `Some(None)`). A field that can be changed but is not given when the item
/// is added (a status the item starts in) is listed after `also in the
/// patch`. The patch derives `Debug, Clone, Default, PartialEq`.
///
/// ```ignore
/// editable_fields! {
///     /// The editable fields of a task.
///     #[derive(Debug, Clone, Default, PartialEq)]
///     pub struct TaskFields {
///         /// What to do.
///         pub title: String,
///         /// When it is due.
///         pub due: Option<u64>,
///     }
///
///     /// Changes to a task.
///     pub struct TaskPatch;
///     also in the patch {
///         /// Where it stands.
///         pub status: TaskStatus,
///     }
/// }
/// ```
macro_rules! editable_fields {
    (
        $(#[$meta:meta])*
        pub struct $fields:ident {
            $( $(#[$field_meta:meta])* pub $field:ident: $ty:ty, )+
        }

        $(#[$patch_meta:meta])*
        pub struct $patch:ident;
        $( also in the patch {
            $( $(#[$extra_meta:meta])* pub $extra:ident: $extra_ty:ty, )+
        } )?
    ) => {
        $(#[$meta])*
        pub struct $fields {
            $( $(#[$field_meta])* pub $field: $ty, )+
        }

        $(#[$patch_meta])*
        ///
        /// Each field is `None` to leave it alone, or the new value.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $patch {
            $( $(#[$field_meta])* pub $field: Option<$ty>, )+
            $( $( $(#[$extra_meta])* pub $extra: Option<$extra_ty>, )+ )?
        }
    };
}

pub(crate) use editable_fields;
