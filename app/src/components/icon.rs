//! The app's icons: small inline SVGs drawn with `currentColor`, so they
//! look the same on every machine (no glyph depends on an installed font)
//! and take the colour of the text around them.
//!
//! An icon is decoration: it is hidden from assistive technology, and the
//! control or text it sits in carries the words (a visible label, or an
//! `aria-label` on icon-only buttons).

use leptos::prelude::*;

/// Every icon the app draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    /// Back to a list.
    ArrowLeft,
    /// Move up / earlier.
    ArrowUp,
    /// Move down / later.
    ArrowDown,
    /// Leads to (an item made from a note, a change of stage).
    ArrowRight,
    /// Done, signed, valid.
    Check,
    /// Close, remove, invalid.
    Cross,
    /// Needs attention, void.
    Warning,
    /// Not yet (an empty circle).
    Circle,
    /// A filled dot (a vote).
    Dot,
    /// Look here / bring everyone to this view.
    Eye,
    /// Locked.
    Lock,
    /// Private writing.
    Pencil,
    /// A running timer.
    Timer,
    /// Time is up.
    Bell,
    /// A milestone achieved, something to celebrate.
    Star,
    /// Add.
    Plus,
    /// Take away.
    Minus,
    /// The navigation menu on narrow screens.
    Menu,
    /// Copy to the clipboard.
    Copy,
    /// Bold text (a stroked B).
    Bold,
    /// Italic text (a slanted I).
    Italic,
    /// A bulleted list.
    BulletList,
    /// A numbered list.
    NumberedList,
}

impl Icon {
    /// The SVG drawing (path data on a 24 × 24 grid, stroked).
    fn paths(self) -> &'static [&'static str] {
        match self {
            Self::ArrowLeft => &["M19 12H5", "M11 6l-6 6 6 6"],
            Self::ArrowUp => &["M12 19V5", "M6 11l6-6 6 6"],
            Self::ArrowDown => &["M12 5v14", "M6 13l6 6 6-6"],
            Self::ArrowRight => &["M5 12h14", "M13 6l6 6-6 6"],
            Self::Check => &["M4 12.5l5 5L20 6.5"],
            Self::Cross => &["M6 6l12 12", "M18 6L6 18"],
            Self::Warning => &["M12 3.5L2.5 20h19z", "M12 10v4.5", "M12 17.2v.3"],
            Self::Circle => &["M12 4.5a7.5 7.5 0 1 0 0 15a7.5 7.5 0 1 0 0-15z"],
            Self::Dot => &["M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8z"],
            Self::Eye => &[
                "M2 12s3.6-6.5 10-6.5S22 12 22 12s-3.6 6.5-10 6.5S2 12 2 12z",
                "M12 9.2a2.8 2.8 0 1 0 0 5.6a2.8 2.8 0 1 0 0-5.6z",
            ],
            Self::Lock => &["M5.5 11h13v9.5h-13z", "M8.5 11V7.5a3.5 3.5 0 0 1 7 0V11"],
            Self::Pencil => &[
                "M4 20l1-4.5L15.5 5a2.1 2.1 0 0 1 3 3L8 18.5z",
                "M13.5 7l3 3",
            ],
            Self::Timer => &[
                "M12 6.5a7 7 0 1 0 0 14a7 7 0 1 0 0-14z",
                "M12 10v3.5l2.5 1.5",
                "M9.5 3h5",
            ],
            Self::Bell => &[
                "M6 16.5V11a6 6 0 0 1 12 0v5.5l1.5 1.5h-15z",
                "M10 20.5a2 2 0 0 0 4 0",
            ],
            Self::Star => {
                &["M12 3l2.7 5.6 6.1.8-4.5 4.2 1.1 6.1L12 16.8l-5.4 2.9 1.1-6.1L3.2 9.4l6.1-.8z"]
            }
            Self::Plus => &["M12 5v14", "M5 12h14"],
            Self::Minus => &["M5 12h14"],
            Self::Menu => &["M4 7h16", "M4 12h16", "M4 17h16"],
            Self::Copy => &["M9 9h11v11H9z", "M5 15H4V4h11v1"],
            Self::Bold => &[
                "M7 4.5h6a3.75 3.75 0 0 1 0 7.5H7z",
                "M7 12h7a3.75 3.75 0 0 1 0 7.5H7z",
            ],
            Self::Italic => &["M10 4.5h8", "M6 19.5h8", "M14.5 4.5l-5 15"],
            Self::BulletList => &[
                "M9 6.5h11",
                "M9 12h11",
                "M9 17.5h11",
                "M4.5 6.5h.01",
                "M4.5 12h.01",
                "M4.5 17.5h.01",
            ],
            Self::NumberedList => &[
                "M10 6.5h10",
                "M10 12h10",
                "M10 17.5h10",
                "M4 5l1.5-1v5",
                "M3.8 13.5a1.4 1.4 0 1 1 2.4 1L3.8 17h2.7",
            ],
        }
    }

    /// Whether the shape is filled rather than outlined.
    fn filled(self) -> bool {
        matches!(self, Self::Dot)
    }
}

/// An inline SVG icon, sized to the text (1em), hidden from screen readers.
#[component]
pub fn Glyph(
    /// Which icon.
    icon: Icon,
) -> impl IntoView {
    let fill = if icon.filled() {
        "currentColor"
    } else {
        "none"
    };
    view! {
        <svg class="icon" viewBox="0 0 24 24" width="1em" height="1em" fill=fill
            stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"
            aria-hidden="true" focusable="false">
            {icon.paths().iter().map(|d| view! { <path d=*d/> }).collect_view()}
        </svg>
    }
}
