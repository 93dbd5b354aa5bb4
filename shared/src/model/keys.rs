//! The document's top-level keys, in one place: every collection module
//! and the generic item helpers name their maps through these, so no
//! collection has to import another to find where it lives.

/// `members{}` (people, including those who left).
pub(crate) const MEMBERS: &str = "members";
/// `devices{actor hex → member id}`.
pub(crate) const DEVICES: &str = "devices";
/// `agreement` (clauses, comments, sign-offs, suggestions, named versions).
pub(crate) const AGREEMENT: &str = "agreement";
/// `parties{}`.
pub(crate) const PARTIES: &str = "parties";
/// `vetting` (criteria and the due-diligence checklist).
pub(crate) const VETTING: &str = "vetting";
/// `objectives{}`.
pub(crate) const OBJECTIVES: &str = "objectives";
/// `kpis{}`.
pub(crate) const KPIS: &str = "kpis";
/// `raci` (activities and assignments).
pub(crate) const RACI: &str = "raci";
/// `comm_plan{}`.
pub(crate) const COMM_PLAN: &str = "comm_plan";
/// `milestones{}`.
pub(crate) const MILESTONES: &str = "milestones";
/// `meetings{}`.
pub(crate) const MEETINGS: &str = "meetings";
/// `governance` (committees, decision rights, the escalation ladder).
pub(crate) const GOVERNANCE: &str = "governance";
/// `conflicts{}`.
pub(crate) const CONFLICTS: &str = "conflicts";
/// `risks{}`.
pub(crate) const RISKS: &str = "risks";
/// `reviews{}`.
pub(crate) const REVIEWS: &str = "reviews";
/// `health{}` (health-check rounds).
pub(crate) const HEALTH: &str = "health";
/// `boards{}` (workshop boards).
pub(crate) const BOARDS: &str = "boards";

/// A meeting's `agenda{}`.
pub(crate) const AGENDA: &str = "agenda";
/// A meeting's `decisions{}`.
pub(crate) const DECISIONS: &str = "decisions";
/// The `actions{}` of a meeting or a review.
pub(crate) const ACTIONS: &str = "actions";

/// The `vetting.scores{party}` maps, one per party.
pub(crate) const SCORES: &str = "scores";

/// A member's party (a party id), read by the checks that look across
/// collections ([`super::refs`], deleting a party).
pub(crate) const MEMBER_PARTY: &str = "party";
/// When a member left (UTC ms); absent while they are a member.
pub(crate) const MEMBER_LEFT_AT: &str = "left_at";
