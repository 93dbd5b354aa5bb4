//! Where the app is: the URL fragment's routes and the kinds of page a
//! partnership has. Every page and the navigation read these; this module
//! imports no page.

use accord_shared::ids::DocumentId;
use accord_shared::model::ItemId;

/// Which page the fragment selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The partnership list.
    Home,
    /// One partnership.
    Partnership(DocumentId),
    /// Joining a partnership from an invite link (`#/join/<id>/<code>`; the
    /// join page reads the code from the fragment).
    Join(DocumentId),
    /// Making this browser another device of an account (`#/link/<code>`
    /// or `#/link`; the page reads the code from the fragment).
    Link,
    /// One of a partnership's plan pages (`#/p/<id>/<page>`).
    Plan(DocumentId, PlanPage),
    /// A fragment that names no page: a mistyped partnership id or page
    /// name (shown as "not found" with a way back, never silently home).
    NotFound,
}

/// The document of an invite fragment `#/join/<id>/<code>`.
pub fn invite_document_from_hash(hash: &str) -> Option<DocumentId> {
    let rest = hash.trim_start_matches('#').strip_prefix("/join/")?;
    DocumentId::parse_url_or_id(rest.split('/').next()?).ok()
}

/// The code part of an invite fragment, if `hash` is one for `id`.
pub fn invite_code_from_hash(hash: &str, id: &DocumentId) -> Option<String> {
    let rest = hash.trim_start_matches('#').strip_prefix("/join/")?;
    let (doc, code) = rest.split_once('/')?;
    let code = code.trim();
    (DocumentId::parse_url_or_id(doc).ok()? == *id && !code.is_empty()).then(|| code.to_owned())
}

/// The code in a link fragment `#/link/<code>` (`Some("")` for `#/link`).
pub fn link_code_from_hash(hash: &str) -> Option<String> {
    let rest = hash.trim_start_matches('#').strip_prefix("/link")?;
    if rest.is_empty() {
        return Some(String::new());
    }
    let code = rest.strip_prefix('/')?;
    Some(
        percent_decode(code)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect(),
    )
}

/// Undoes `%20`-style escapes a chat app may add to a link.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Route {
    /// Parses a fragment such as `#/p/<id>`: empty or `#/` is
    /// [`Route::Home`], anything unrecognised [`Route::NotFound`].
    pub fn from_hash(hash: &str) -> Self {
        if let Some(id) = invite_document_from_hash(hash) {
            return Self::Join(id);
        }
        if link_code_from_hash(hash).is_some() {
            return Self::Link;
        }
        let path = hash.trim_start_matches('#');
        if path.is_empty() || path == "/" {
            return Self::Home;
        }
        let Some(rest) = path.strip_prefix("/p/") else {
            return Self::NotFound;
        };
        let (id, page) = rest.split_once('/').unwrap_or((rest, ""));
        match (DocumentId::parse_url_or_id(id), page) {
            (Ok(id), "") => Self::Partnership(id),
            (Ok(id), page) => {
                PlanPage::from_slug(page).map_or(Self::NotFound, |p| Self::Plan(id, p))
            }
            (Err(_), _) => Self::NotFound,
        }
    }

    /// The fragment for this route.
    pub fn hash(&self) -> String {
        match self {
            Self::Home => "#/".to_owned(),
            Self::Partnership(id) => format!("#/p/{id}"),
            Self::Join(id) => format!("#/join/{id}"),
            Self::Link => "#/link".to_owned(),
            Self::Plan(id, page) => format!("#/p/{id}/{}", page.slug()),
            Self::NotFound => "#/not-found".to_owned(),
        }
    }
}

/// The route the page's fragment selects now.
pub fn current_route() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    Route::from_hash(&hash)
}

/// Navigates to `route` (updates the fragment; the `hashchange` listener re-renders).
pub fn navigate(route: Route) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_hash(&route.hash());
    }
}

/// One plan page of a partnership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanPage {
    /// Criteria, scores, totals and due diligence.
    Vetting,
    /// Objectives and KPIs with their trend charts.
    Objectives,
    /// The RACI matrix.
    Roles,
    /// What is communicated, to whom, how often, and when next.
    Communication,
    /// Milestones, due and achieved.
    Milestones,
    /// The agreement: clauses, comments, sign-off, history, export.
    Agreement,
    /// Meetings with agenda, minutes, decisions and action items.
    Meetings,
    /// Committees, decision rights and the escalation ladder.
    Governance,
    /// Conflicts and their way up the escalation ladder.
    Conflicts,
    /// The risk register with its heat map.
    Risks,
    /// Health-check rounds, sealed until every party has submitted.
    Health,
    /// Reviews and post-mortems with their actions.
    Reviews,
    /// Live workshop boards.
    Boards,
}

impl PlanPage {
    /// Every page, in tab order.
    pub const ALL: [PlanPage; 13] = [
        Self::Vetting,
        Self::Objectives,
        Self::Roles,
        Self::Communication,
        Self::Milestones,
        Self::Agreement,
        Self::Meetings,
        Self::Governance,
        Self::Conflicts,
        Self::Risks,
        Self::Health,
        Self::Reviews,
        Self::Boards,
    ];

    /// The fragment segment after `#/p/<id>/`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Vetting => "vetting",
            Self::Objectives => "objectives",
            Self::Roles => "roles",
            Self::Communication => "communication",
            Self::Milestones => "milestones",
            Self::Agreement => "agreement",
            Self::Meetings => "meetings",
            Self::Governance => "governance",
            Self::Conflicts => "conflicts",
            Self::Risks => "risks",
            Self::Health => "health",
            Self::Reviews => "reviews",
            Self::Boards => "boards",
        }
    }

    /// One or two sentences under the page's title: what the page is for in
    /// a partnership and where to start.
    pub fn intro(self) -> &'static str {
        match self {
            Self::Vetting => {
                "Agree what makes a good partner, then each organization scores its own column. Start by adding the criteria that matter and their weight."
            }
            Self::Objectives => {
                "What the partnership is for, in measurable terms. Add an objective, then the KPIs that show progress and record measurements as you go."
            }
            Self::Roles => {
                "Who is Responsible, Accountable, Consulted and Informed for each activity. Add the activities both sides will carry out."
            }
            Self::Communication => {
                "What is shared, with whom, how and how often. Add each regular report, call or update."
            }
            Self::Milestones => {
                "The dates that matter and whether they were met. Add the first milestone; celebrate it when it is achieved."
            }
            Self::Agreement => {
                "The terms both organizations sign, clause by clause. Start from the standard outline or write the first clause."
            }
            Self::Meetings => {
                "Check-ins, business reviews and steering committees with agenda, minutes, decisions and actions. Schedule the next one."
            }
            Self::Governance => {
                "Who decides what, and where a disagreement goes next. Set up the joint committees and the escalation ladder."
            }
            Self::Conflicts => {
                "Disagreements, recorded early and climbed up the escalation ladder until resolved."
            }
            Self::Risks => {
                "What could go wrong, how likely and how bad, and the plan if it does. Add the first risk."
            }
            Self::Health => {
                "How each side feels the partnership is going, answered privately and revealed together. Open a round when you are ready."
            }
            Self::Reviews => {
                "Looking back: what went well, what to improve, and the actions that follow."
            }
            Self::Boards => {
                "Live workshop boards for both teams: sticky notes, dot votes and a timer. Start a board from a template."
            }
        }
    }

    /// The page for a fragment segment, if any.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// The tab label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Vetting => "Vetting",
            Self::Objectives => "Objectives & KPIs",
            Self::Roles => "Roles",
            Self::Communication => "Communication",
            Self::Milestones => "Milestones",
            Self::Agreement => "Agreement",
            Self::Meetings => "Meetings",
            Self::Governance => "Governance",
            Self::Conflicts => "Conflicts",
            Self::Risks => "Risks",
            Self::Health => "Health check",
            Self::Reviews => "Reviews",
            Self::Boards => "Workshops",
        }
    }
}

// Which board a tab has open is part of where the app is: kept per tab
// (session storage), so a reload, or a link from a plan item to the note
// it came from, opens that board.

/// This tab's session storage (gone with the tab).
fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The board this tab had open on partnership `id`, so a reload returns to it.
pub fn remembered_board(id: &DocumentId) -> Option<ItemId> {
    session()?
        .get_item(&format!("board:{id}"))
        .ok()??
        .parse()
        .ok()
}

/// Remembers the board this tab has open (`None`: the list).
pub fn remember_board(id: &DocumentId, board: Option<ItemId>) {
    let Some(storage) = session() else {
        return;
    };
    let key = format!("board:{id}");
    let _ = match board {
        Some(board) => storage.set_item(&key, &board.key()),
        None => storage.remove_item(&key),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_fragments_yield_their_code() {
        let id = DocumentId::from_bytes([7; 16]);
        let other = DocumentId::from_bytes([8; 16]);
        assert_eq!(
            invite_code_from_hash(&format!("#/join/{id}/abc"), &id).as_deref(),
            Some("abc")
        );
        assert_eq!(invite_code_from_hash(&format!("#/join/{id}/"), &id), None);
        assert_eq!(
            invite_code_from_hash(&format!("#/join/{other}/abc"), &id),
            None
        );
        assert_eq!(invite_code_from_hash("#/p/x", &id), None);
        assert_eq!(
            invite_document_from_hash(&format!("#/join/{id}/abc")),
            Some(id)
        );
        assert_eq!(invite_document_from_hash("#/join/nope/abc"), None);
    }

    #[test]
    fn link_fragments_yield_their_code() {
        assert_eq!(
            link_code_from_hash("#/link/ABCD-EFGH-JKMN").as_deref(),
            Some("ABCD-EFGH-JKMN")
        );
        assert_eq!(
            link_code_from_hash("#/link/ABCD%20EFGH").as_deref(),
            Some("ABCDEFGH")
        );
        assert_eq!(link_code_from_hash("#/link").as_deref(), Some(""));
        assert_eq!(link_code_from_hash("#/linked"), None);
        assert_eq!(link_code_from_hash("#/p/x"), None);
    }

    #[test]
    fn routes_round_trip_through_the_fragment() {
        let id = DocumentId::from_bytes([9; 16]);
        assert_eq!(
            Route::from_hash(&Route::Partnership(id).hash()),
            Route::Partnership(id)
        );
        assert_eq!(Route::from_hash("#/"), Route::Home);
        assert_eq!(Route::from_hash(""), Route::Home);
        assert_eq!(Route::from_hash("#/p/not-an-id"), Route::NotFound);
        assert_eq!(Route::from_hash("#/elsewhere"), Route::NotFound);
        assert_eq!(Route::from_hash("#"), Route::Home);
        for page in PlanPage::ALL {
            let route = Route::Plan(id, page);
            assert_eq!(Route::from_hash(&route.hash()), route);
        }
        assert_eq!(Route::from_hash(&format!("#/p/{id}/nope")), Route::NotFound);
    }
}
