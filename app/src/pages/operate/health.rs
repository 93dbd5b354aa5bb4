//! The health check: a round every member answers (trust, communication,
//! value delivered, alignment, responsiveness, each 1–5, and free text).
//!
//! Each answer is sealed on the answering device before it enters the
//! shared document ([`health::submit`]): ChaCha20-Poly1305 under a key
//! derived from the device's sealing secret ([`crate::identity::Identity::health_answer_key`]),
//! with only a commitment to that key written alongside. Until every party
//! has submitted, the page shows who has answered and which parties are in,
//! never a rating. Whenever this page sees that every party is in, it
//! publishes this device's key ([`health::should_reveal`] →
//! [`health::reveal`]); the results (party averages side by side, perception
//! gaps, a radar chart, the trend across rounds) are computed from the
//! answers whose keys are published.
//!
//! A person with several linked devices answers once per round, as their
//! member, from any of them. The key stays on the device that answered:
//! only that device shows the person their own sealed answer and publishes
//! the key at the reveal (the others see "answered" and wait for it).

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::health::{
    self, Answers, GAP_THRESHOLD, PartyProgress, Question, Results, Round, TrendPoint,
};
use accord_shared::model::members::{self, Member};
use accord_shared::model::parties::{self, Party};
use accord_shared::model::{Collection, ItemId, MemberId, PartyId, touched};
use leptos::prelude::*;

use super::member_name;
use crate::browser;
use crate::components::form::{InlineError, feedback, on_add_as_me};
use crate::components::icon::{Glyph, Icon};
use crate::edit::{self, apply_into, format_date, parse_whole};
use crate::store::Store;
use crate::sync_client::client;

#[derive(Debug, Clone, PartialEq)]
struct Data {
    rounds: Vec<Round>,
    members: Vec<Member>,
    parties: Vec<Party>,
    trend: Vec<TrendPoint>,
}

fn load(doc: &Automerge) -> Data {
    Data {
        rounds: health::list(doc),
        members: members::list(doc),
        parties: parties::list(doc),
        trend: health::trend(doc),
    }
}

/// The name of party `id`, or a placeholder for one since removed.
fn party_name(parties: &[Party], id: PartyId) -> String {
    parties
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| "(removed party)".to_owned(), |p| p.fields.name.clone())
}

/// Radar chart size in SVG user units.
const RADAR_SIZE: f64 = 260.0;
/// Radius of the outer ring (a rating of 5).
const RADAR_RADIUS: f64 = 90.0;

/// Where a rating `value` (0–5) of question `index` sits on the radar: the
/// first axis points up, the others follow clockwise, 5 on the outer ring.
pub fn radar_point(index: usize, value: f64) -> (f64, f64) {
    let center = RADAR_SIZE / 2.0;
    let angle = -std::f64::consts::FRAC_PI_2
        + index as f64 * std::f64::consts::TAU / Question::ALL.len() as f64;
    let r = value.clamp(0.0, 5.0) / 5.0 * RADAR_RADIUS;
    (center + r * angle.cos(), center + r * angle.sin())
}

/// The `points` attribute of a polygon through `values` (absent ones at 0).
fn radar_polygon(values: &[Option<f64>; 5]) -> String {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (x, y) = radar_point(i, v.unwrap_or(0.0));
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Trend chart size in SVG user units.
const TREND_WIDTH: f64 = 320.0;
/// See [`TREND_WIDTH`].
const TREND_HEIGHT: f64 = 120.0;
/// Inner margin of the trend chart.
const TREND_PAD: f64 = 10.0;

/// The trend chart's `y` of an average rating (1 at the bottom, 5 on top).
fn trend_y(value: f64) -> f64 {
    let span = TREND_HEIGHT - 2.0 * TREND_PAD;
    TREND_PAD + (5.0 - value.clamp(1.0, 5.0)) / 4.0 * span
}

/// The `points` of one party's trend line: rounds evenly spaced left to
/// right (one round in the middle), rounds without a value skipped.
fn trend_points(values: &[Option<f64>]) -> String {
    let n = values.len();
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let x = if n <= 1 {
                TREND_WIDTH / 2.0
            } else {
                TREND_PAD + i as f64 / (n - 1) as f64 * (TREND_WIDTH - 2.0 * TREND_PAD)
            };
            v.map(|v| format!("{x:.1},{:.1}", trend_y(v)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The mean of the answered questions, if any.
fn overall(values: &[Option<f64>; 5]) -> Option<f64> {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
}

/// Publishes this device's answer key for every round where every party
/// is in and the key is not out yet ([`health::should_reveal`]), whenever
/// the document changes while the calling page is shown; a refusal goes
/// into `error`.
pub fn reveal_when_due(
    store: Store,
    id: DocumentId,
    me: Memo<Option<MemberId>>,
    error: RwSignal<Option<String>>,
) {
    Effect::new(move |_| {
        let Some(me) = me.get() else {
            return;
        };
        let due: Vec<ItemId> = edit::read(store, &id, |doc| {
            health::list(doc)
                .into_iter()
                .map(|r| r.id)
                .filter(|round| health::should_reveal(doc, *round, me))
                .collect()
        })
        .unwrap_or_default();
        for round in due {
            let Some(client) = client() else {
                return;
            };
            let key = client.health_answer_key(round, me);
            // Only the device that sealed the answer holds its key: another
            // device of the same member leaves the reveal to that one.
            let sealed_here = client
                .read_doc(&id, |doc| health::open_own(doc, round, me, &key).is_some())
                .unwrap_or(false);
            if sealed_here {
                apply_into(error, &id, |tx| health::reveal(tx, round, me, &key));
            }
        }
    });
}

/// The health-check page.
#[component]
pub fn HealthPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let places = vec![
        touched::collection(Collection::HealthRounds),
        touched::members(),
        touched::parties(),
    ];
    let data = crate::components::rows::watched(id, places, load);
    super::Drafts::provide();
    let me = Memo::new(move |_| {
        store.revision.track();
        edit::me(&id)
    });
    let reveal_error = feedback();
    reveal_when_due(store, id, me, reveal_error);
    let rounds = move || {
        let Some(data) = data.get() else {
            return ().into_any();
        };
        let me = me.get();
        data.rounds
            .iter()
            .rev()
            .map(|round| {
                view! {
                    <RoundCard id=id round=round.clone() members=data.members.clone()
                        parties=data.parties.clone() me=me/>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <p class="muted">
            "Each answer is encrypted on the answering device; ratings stay unreadable to everyone, "
            "the partner included, until every party has submitted."
        </p>
        <OpenRoundForm id=id me=me/>
        <InlineError message=reveal_error test_id="reveal-error"/>
        <ul class="cards rounds">{rounds}</ul>
        <Trend data=data/>
    }
}

/// Opens a new round asking every current member.
#[component]
fn OpenRoundForm(id: DocumentId, me: Memo<Option<MemberId>>) -> impl IntoView {
    let title = RwSignal::new(format!("Health check {}", format_date(edit::now())));
    let error = feedback();
    let open = move |tx: &mut Transaction<'_>, item, by| {
        health::open_round(tx, item, &title.get_untracked(), by, edit::now())
    };
    view! {
        <form class="inline-form" on:submit=on_add_as_me(error, id, open, |_| ())>
            <input type="text" class="grow" data-testid="new-round-title" aria-label="Round title" bind:value=title/>
            <button type="submit" data-testid="open-round" disabled=move || me.get().is_none()>"Open a round"</button>
        </form>
        <InlineError message=error test_id="round-error"/>
    }
}

/// Where one party stands, as people read it.
fn progress_text(progress: &PartyProgress, members: &[Member], name: &str) -> String {
    if progress.submitted {
        let closed = progress
            .closed
            .map(|(by, at)| {
                format!(
                    " (closed by {} on {})",
                    member_name(members, Some(by)),
                    format_date(at)
                )
            })
            .unwrap_or_default();
        format!("{name} submitted{closed}")
    } else {
        format!(
            "{name}: {} of {} answered",
            progress.answered.len(),
            progress.expected.len()
        )
    }
}

/// One round: progress before the reveal, results after it.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
fn RoundCard(
    id: DocumentId,
    round: Round,
    members: Vec<Member>,
    parties: Vec<Party>,
    me: Option<MemberId>,
) -> impl IntoView {
    let rid = round.id;
    let error = feedback();
    let status = &round.status;
    let mine = me.and_then(|me| {
        status
            .parties
            .iter()
            .find(|p| p.expected.contains(&me) || p.answered.contains(&me))
            .cloned()
    });
    let answered = me.is_some_and(|me| mine.as_ref().is_some_and(|p| p.answered.contains(&me)));
    let can_answer = !status.all_submitted
        && !answered
        && mine
            .as_ref()
            .is_some_and(|p| p.closed.is_none() && !p.submitted);
    let can_close = !status.all_submitted
        && mine
            .as_ref()
            .is_some_and(|p| !p.submitted && !p.answered.is_empty());
    let progress = status
        .parties
        .iter()
        .map(|p| {
            let name = party_name(&parties, p.party);
            let who = p
                .answered
                .iter()
                .map(|m| member_name(&members, Some(*m)))
                .collect::<Vec<_>>()
                .join(", ");
            view! {
                <li data-testid="party-progress" data-party=name.clone() class:submitted=p.submitted>
                    {progress_text(p, &members, &name)}
                    {(!who.is_empty()).then(|| view! { <span class="muted">{format!(" — answered: {who}")}</span> })}
                </li>
            }
        })
        .collect_view();
    let close = {
        let party = mine.as_ref().map(|p| p.party);
        move |_| {
            let (Some(party), Some(me)) = (party, me) else {
                return;
            };
            apply_into(error, &id, |tx| {
                health::close_party(tx, rid, party, me, edit::now())
            });
        }
    };
    let own = (answered && round.results.is_none())
        .then(|| {
            let me = me?;
            let key = client()?.health_answer_key(rid, me);
            client()?.read_doc(&id, |doc| health::open_own(doc, rid, me, &key))?
        })
        .flatten();
    view! {
        <li class="card round" data-testid="round-card">
            <div class="row">
                <strong data-testid="round-title">{round.title.clone()}</strong>
                <span class="muted">{format!("opened {} by {}", format_date(round.opened_at), member_name(&members, round.opened_by))}</span>
            </div>
            <ul class="plain progress">{progress}</ul>
            {match &round.results {
                Some(results) => view! { <ResultsView results=results.clone() parties=parties.clone()/> }.into_any(),
                None if status.all_submitted => view! {
                    <p class="muted" data-testid="round-revealing">"Every party is in: answers are revealed as each device comes by."</p>
                }.into_any(),
                None => view! {
                    <p class="muted sealed" data-testid="round-sealed">
                        {format!("{} answer(s) sealed; results appear once every party has submitted.", status.sealed)}
                    </p>
                }.into_any(),
            }}
            {own.map(|answers| view! {
                <p class="muted" data-testid="own-answer">
                    {format!("Your sealed answer: {}", answers.ratings.iter().map(u8::to_string).collect::<Vec<_>>().join(" · "))}
                </p>
            })}
            {(me.is_some() && mine.is_none()).then(|| view! {
                <p class="muted" data-testid="not-asked">
                    "You were not a member of a party when this round opened, so it does not ask you."
                </p>
            })}
            {can_answer.then(|| view! { <AnswerForm id=id round=rid me=me/> })}
            {can_close.then(|| view! {
                <button type="button" data-testid="close-party" on:click=close>
                    "Submit our party as it stands"
                </button>
            })}
            <InlineError message=error test_id="round-row-error"/>
        </li>
    }
}

/// This member's answer: five ratings and free text, sealed on submit.
#[component]
fn AnswerForm(id: DocumentId, round: ItemId, me: Option<MemberId>) -> impl IntoView {
    let ratings: [RwSignal<String>; 5] =
        std::array::from_fn(|q| super::Drafts::field(format!("rating:{round}:{q}"), String::new));
    let comment = super::Drafts::field(format!("comment:{round}"), String::new);
    let error = feedback();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(me) = me else {
            return;
        };
        let mut values = [0u8; 5];
        for (question, value) in Question::ALL.into_iter().zip(values.iter_mut()) {
            match parse_whole(
                question.label(),
                &ratings[question.index()].get_untracked(),
                1,
                5,
            ) {
                // In 1..=5, so it fits.
                Ok(v) => *value = v as u8,
                Err(e) => {
                    error.set(Some(e.to_string()));
                    return;
                }
            }
        }
        let mut nonce = [0u8; 12];
        if let Err(e) = browser::random_bytes(&mut nonce) {
            error.set(Some(e.to_string()));
            return;
        }
        let Some(client) = client() else {
            return;
        };
        let key = client.health_answer_key(round, me);
        let answers = Answers {
            ratings: values,
            comment: comment.get_untracked(),
        };
        let sealed = apply_into(error, &id, |tx| {
            health::submit(tx, round, me, &answers, &key, nonce, edit::now())
        });
        if sealed {
            // The plain answer is not kept in the page once sealed.
            for rating in ratings {
                rating.set(String::new());
            }
            comment.set(String::new());
        }
    };
    let fields = Question::ALL
        .into_iter()
        .map(|q| {
            let value = ratings[q.index()];
            view! {
                <label class="rating">{q.label()} " "
                    <input type="number" class="narrow" data-testid="rating-input"
                        data-question=q.label() bind:value=value/>
                </label>
            }
        })
        .collect_view();
    view! {
        <form class="stacked-form answer" on:submit=submit>
            <p>"Rate each from 1 (poor) to 5 (excellent):"</p>
            <div class="row">{fields}</div>
            <textarea rows="2" data-testid="answer-comment" placeholder="Anything else (free text)"
                aria-label="Free text" bind:value=comment></textarea>
            <button type="submit" data-testid="submit-answer">"Seal and submit my answer"</button>
        </form>
        <InlineError message=error test_id="answer-error"/>
    }
}

/// The results of a revealed round: averages side by side, gaps, radar.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
fn ResultsView(results: Results, parties: Vec<Party>) -> impl IntoView {
    let names: Vec<String> = results
        .parties
        .iter()
        .map(|p| party_name(&parties, p.party))
        .collect();
    let header = names
        .iter()
        .map(|n| view! { <th>{n.clone()}</th> })
        .collect_view();
    let rows = Question::ALL
        .into_iter()
        .map(|q| {
            let gap = results.gaps.iter().find(|g| g.question == q);
            let highlighted = gap.is_some_and(|g| g.highlighted);
            let cells = results
                .parties
                .iter()
                .zip(&names)
                .map(|(p, name)| {
                    let text =
                        p.averages[q.index()].map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"));
                    view! { <td data-testid="result-value" data-party=name.clone()>{text}</td> }
                })
                .collect_view();
            view! {
                <tr data-testid="result-row" data-question=q.label() class:gap=highlighted>
                    <th scope="row">{q.label()}</th>
                    {cells}
                    <td data-testid="result-gap">
                        {gap.map(|g| format!("{:.1}", g.gap)).unwrap_or_default()}
                        {highlighted.then(|| view! { " " <Glyph icon=Icon::Warning/><span class="visually-hidden">" large gap"</span> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let completeness = (!results.complete).then(|| {
        let revealed: usize = results.parties.iter().map(|p| p.revealed).sum();
        let sealed: usize = results.parties.iter().map(|p| p.sealed).sum();
        view! { <p class="muted" data-testid="results-partial">{format!("{revealed} of {sealed} answers revealed so far")}</p> }
    });
    let comments = results
        .parties
        .iter()
        .zip(&names)
        .filter(|(p, _)| !p.comments.is_empty())
        .map(|(p, name)| {
            let items = p
                .comments
                .iter()
                .map(|c| view! { <li data-testid="result-comment">{c.clone()}</li> })
                .collect_view();
            view! { <h5>{name.clone()}</h5><ul>{items}</ul> }
        })
        .collect_view();
    view! {
        <div class="health-results" data-testid="health-results">
            {completeness}
            <table class="results">
                <thead><tr><th>"Question"</th>{header}<th>"Gap"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="muted">{format!("A gap of {GAP_THRESHOLD:.1} or more between the parties is highlighted.")}</p>
            <Radar results=results.clone() names=names.clone()/>
            {comments}
        </div>
    }
}

/// Both parties' averages on one radar chart, one polygon per party.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
fn Radar(results: Results, names: Vec<String>) -> impl IntoView {
    let rings = (1..=5)
        .map(|level| {
            let points = radar_polygon(&[Some(f64::from(level)); 5]);
            view! { <polygon class="radar-ring" points=points/> }
        })
        .collect_view();
    let axes = Question::ALL
        .into_iter()
        .map(|q| {
            let (x1, y1) = radar_point(q.index(), 0.0);
            let (x2, y2) = radar_point(q.index(), 5.0);
            let (lx, ly) = radar_point(q.index(), 6.1);
            view! {
                <line class="radar-axis" x1=format!("{x1:.1}") y1=format!("{y1:.1}") x2=format!("{x2:.1}") y2=format!("{y2:.1}")/>
                <text class="radar-label" x=format!("{lx:.1}") y=format!("{ly:.1}") text-anchor="middle">{q.label()}</text>
            }
        })
        .collect_view();
    let shapes = results
        .parties
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(i, (p, name))| {
            view! {
                <polygon class=format!("radar-party party-{}", i % 4) data-testid="radar-party"
                    data-party=name.clone() points=radar_polygon(&p.averages)/>
            }
        })
        .collect_view();
    let legend = names
        .iter()
        .enumerate()
        .map(|(i, n)| view! { <span class=format!("legend party-{}", i % 4)>{n.clone()}</span> })
        .collect_view();
    view! {
        <figure class="radar">
            <svg class="radar-chart" data-testid="health-radar" viewBox=format!("-40 -10 {} {}", RADAR_SIZE + 80.0, RADAR_SIZE + 20.0)
                role="img" aria-label="Both parties' average ratings per question">
                {rings}
                {axes}
                {shapes}
            </svg>
            <figcaption>{legend}</figcaption>
        </figure>
    }
}

/// Each party's overall average per revealed round, oldest first.
#[component]
fn Trend(data: Memo<Option<Data>>) -> impl IntoView {
    move || {
        let data = data.get()?;
        if data.trend.is_empty() {
            return None;
        }
        let mut party_ids: Vec<PartyId> = data
            .trend
            .iter()
            .flat_map(|t| t.parties.iter().map(|(p, _)| *p))
            .collect();
        party_ids.sort();
        party_ids.dedup();
        let header = party_ids
            .iter()
            .map(|p| view! { <th>{party_name(&data.parties, *p)}</th> })
            .collect_view();
        let rows = data
            .trend
            .iter()
            .map(|point| {
                let cells = party_ids
                    .iter()
                    .map(|party| {
                        let value = point
                            .parties
                            .iter()
                            .find(|(p, _)| p == party)
                            .and_then(|(_, v)| overall(v));
                        let name = party_name(&data.parties, *party);
                        view! {
                            <td data-testid="trend-value" data-party=name>
                                {value.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"))}
                            </td>
                        }
                    })
                    .collect_view();
                view! {
                    <tr data-testid="trend-row">
                        <th scope="row">{format!("{} ({})", point.title, format_date(point.opened_at))}</th>
                        {cells}
                    </tr>
                }
            })
            .collect_view();
        let lines = party_ids
            .iter()
            .enumerate()
            .map(|(i, party)| {
                let values: Vec<Option<f64>> = data
                    .trend
                    .iter()
                    .map(|point| {
                        point
                            .parties
                            .iter()
                            .find(|(p, _)| p == party)
                            .and_then(|(_, v)| overall(v))
                    })
                    .collect();
                let points = trend_points(&values);
                let dots = points
                    .split(' ')
                    .filter(|p| !p.is_empty())
                    .filter_map(|p| p.split_once(','))
                    .map(|(x, y)| view! { <circle class=format!("trend-dot party-{}", i % 4) cx=x.to_owned() cy=y.to_owned() r="3"/> })
                    .collect_view();
                view! {
                    <polyline class=format!("trend-line party-{}", i % 4) data-testid="trend-line"
                        data-party=party_name(&data.parties, *party) points=points/>
                    {dots}
                }
            })
            .collect_view();
        let legend = party_ids
            .iter()
            .enumerate()
            .map(|(i, p)| view! { <span class=format!("legend party-{}", i % 4)>{party_name(&data.parties, *p)}</span> })
            .collect_view();
        Some(view! {
            <h3>"Trend across rounds"</h3>
            <figure class="trend">
                <svg class="trend-chart" data-testid="health-trend-chart" viewBox=format!("0 0 {TREND_WIDTH} {TREND_HEIGHT}")
                    role="img" aria-label="Each party's overall average per round">
                    {(1..=5).map(|level| {
                        let y = format!("{:.1}", trend_y(f64::from(level)));
                        view! { <line class="radar-ring" x1="0" x2=TREND_WIDTH.to_string() y1=y.clone() y2=y/> }
                    }).collect_view()}
                    {lines}
                </svg>
                <figcaption>{legend}</figcaption>
            </figure>
            <table class="results trend" data-testid="health-trend">
                <thead><tr><th>"Round (overall average)"</th>{header}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radar_axes_start_up_and_scale_with_the_rating() {
        let center = RADAR_SIZE / 2.0;
        let (x, y) = radar_point(0, 5.0);
        assert!((x - center).abs() < 1e-9);
        assert!((y - (center - RADAR_RADIUS)).abs() < 1e-9);
        assert_eq!(radar_point(3, 0.0), (center, center));
        // Half the rating, half the distance from the centre.
        let (x5, y5) = radar_point(1, 5.0);
        let (x2, y2) = radar_point(1, 2.5);
        assert!((x2 - center - (x5 - center) / 2.0).abs() < 1e-9);
        assert!((y2 - center - (y5 - center) / 2.0).abs() < 1e-9);
        assert_eq!(radar_polygon(&[Some(5.0); 5]).split(' ').count(), 5);
    }

    #[test]
    fn trend_lines_span_the_chart_and_skip_missing_rounds() {
        assert_eq!(trend_y(5.0), TREND_PAD);
        assert_eq!(trend_y(1.0), TREND_HEIGHT - TREND_PAD);
        assert_eq!(
            trend_points(&[Some(3.0)]),
            format!("{:.1},{:.1}", TREND_WIDTH / 2.0, trend_y(3.0))
        );
        let points = trend_points(&[Some(5.0), None, Some(1.0)]);
        assert_eq!(
            points,
            format!("10.0,10.0 {:.1},110.0", TREND_WIDTH - TREND_PAD)
        );
    }

    #[test]
    fn overall_averages_the_answered_questions() {
        assert_eq!(
            overall(&[Some(4.0), Some(2.0), None, None, None]),
            Some(3.0)
        );
        assert_eq!(overall(&[None; 5]), None);
    }
}
