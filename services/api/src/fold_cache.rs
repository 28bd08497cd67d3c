//! Folded streams kept in memory and checked against the log on every read.
//!
//! A read asks the database, in one statement, for each stream's current version and only the
//! events above the version already folded here ([`read::read_streams_since`]), then folds just
//! those onto the held state. So a held fold is never stale: a user revoked or a household
//! changed — by this process or any other — is seen by the very next read, because the version
//! comes from the same snapshot as everything else the read returns. What the cache saves is
//! the rest: when nothing changed a read costs one primary-key probe per stream instead of
//! moving, decoding and folding every event of the stream.
//!
//! Time travel (`knownAt`, `asOf`) does not use it: those fold the exact prefix from the log.
//! The cache is bounded by the events its folds stand for (`DIXIAN_FOLD_CACHE`, per kind of
//! stream), not by a number of streams: a household with ten years of monthly visits weighs
//! what it costs in memory. Beyond the bound the least recently used folds are dropped and
//! simply refolded when next read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

use dixian_domain::household::HouseholdState;
use dixian_domain::policy::{Policy, PolicyBook};
use dixian_domain::user::{User, UserState};
use dixian_domain::{Decider, StreamId};
use dixian_store::RecordedEvent;
use dixian_store::probe::ProbePool;
use dixian_store::read::StreamTail;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::household::dossier::TimelineEntry;

/// Events' worth of folds kept per kind of stream when `DIXIAN_FOLD_CACHE` is not set: about
/// 4 800 households of 27 events, a few tens of MiB (a fold is the state plus a ~300-byte
/// timeline entry per event).
pub const DEFAULT_CAPACITY: usize = 131_072;

/// A stream folded up to `version`.
#[derive(Default)]
pub struct Folded<S> {
    pub ledger: String,
    pub version: i64,
    pub state: S,
    /// One entry per event, oldest first (kept for households, whose file shows its timeline;
    /// empty for the other kinds).
    pub timeline: Vec<TimelineEntry>,
}

/// The fold caches of one server process, and the connections their probes use.
pub struct Folds {
    pub households: FoldCache<dixian_domain::household::Household>,
    pub users: FoldCache<User>,
    pub policies: FoldCache<Policy>,
    probes: ProbePool,
}

impl Folds {
    /// Folds standing for up to `capacity` events of each kind (0 keeps nothing: every read folds
    /// from the start).
    pub fn new(capacity: usize, probes: ProbePool) -> Self {
        Self {
            probes,
            households: FoldCache::new(capacity, true),
            users: FoldCache::new(capacity, false),
            // A handful of provinces with a few events each: never worth evicting (but 0 is off).
            policies: FoldCache::new(if capacity == 0 { 0 } else { capacity.max(1024) }, false),
        }
    }

    /// The household's current fold and the policy book of its province, in one round trip
    /// when the province is known beforehand (from the held fold, or `province_hint`), two
    /// otherwise. `None` when the household does not exist.
    pub async fn household_now(
        &self,
        household_id: uuid::Uuid,
        province_hint: &str,
    ) -> Result<Option<(Arc<Folded<HouseholdState>>, PolicyFold)>, ApiError> {
        let h_id = StreamId::Household(household_id).to_string();
        let held_h = self.households.held(&h_id);
        let guess = held_h
            .as_ref()
            .and_then(|h| province_of(&h.state))
            .unwrap_or(province_hint)
            .to_owned();
        let p_id = StreamId::Policy(guess.clone()).to_string();
        let held_p = self.policies.held(&p_id);
        let tails = read_since(
            &self.probes,
            &[(&h_id, since(&held_h)), (&p_id, since(&held_p))],
        )
        .await?;
        let mut household = None;
        let mut policy = None;
        for tail in tails {
            if tail.stream_id == h_id {
                household = Some(self.households.advance(held_h.clone(), tail)?);
            } else {
                policy = Some(self.policies.advance(held_p.clone(), tail)?);
            }
        }
        let Some(household) = household else {
            return Ok(None);
        };
        let book = match province_of(&household.state) {
            Some(p) if p != guess => self.policy(p).await?,
            _ => policy.unwrap_or_default(),
        };
        Ok(Some((household, book)))
    }

    /// The province's policy book now (empty when none was ever set).
    pub async fn policy(&self, province: &str) -> Result<PolicyFold, ApiError> {
        Ok(self
            .policies
            .current(
                &self.probes,
                &StreamId::Policy(province.to_owned()).to_string(),
            )
            .await?
            .unwrap_or_default())
    }

    /// The user's state now (`None`: no such user).
    pub async fn user(
        &self,
        user_id: uuid::Uuid,
    ) -> Result<Option<Arc<Folded<UserState>>>, ApiError> {
        self.users
            .current(&self.probes, &StreamId::User(user_id).to_string())
            .await
    }
}

/// [`dixian_store::read::read_streams_since`], batched with other readers' probes.
async fn read_since(
    probes: &ProbePool,
    streams: &[(&str, i64)],
) -> Result<Vec<StreamTail>, ApiError> {
    Ok(probes.read_streams_since(streams).await?)
}

/// A province's policy book as folded (shared, never copied per request; empty when none was
/// ever set).
pub type PolicyFold = Arc<Folded<PolicyBook>>;

/// The province of a registered household's village.
pub fn province_of(state: &HouseholdState) -> Option<&str> {
    state.registration.as_ref().map(|r| r.village.province())
}

/// The version to read above, for what is held.
fn since<S>(held: &Option<Arc<Folded<S>>>) -> i64 {
    held.as_ref().map(|h| h.version).unwrap_or(0)
}

/// A map of stream id → fold bounded by the events the folds stand for (their versions), least
/// recently used dropped first.
pub struct FoldCache<D: Decider> {
    inner: Mutex<Inner<D::State>>,
    capacity: usize,
    keep_timeline: bool,
}

struct Inner<S> {
    slots: HashMap<String, Slot<S>>,
    clock: u64,
    /// The sum of the held folds' versions.
    weight: usize,
}

struct Slot<S> {
    folded: Arc<Folded<S>>,
    used: u64,
}

impl<D> FoldCache<D>
where
    D: Decider,
    D::Event: DeserializeOwned,
    D::State: Clone,
{
    pub fn new(capacity: usize, keep_timeline: bool) -> Self {
        Self {
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                clock: 0,
                weight: 0,
            }),
            capacity,
            keep_timeline,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<D::State>> {
        // A panic while holding the lock leaves a map of complete entries: keep using it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fold held for a stream, if any (not checked against the log: pass it to
    /// [`Self::advance`] with what the log says).
    pub fn held(&self, stream_id: &str) -> Option<Arc<Folded<D::State>>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        inner.slots.get_mut(stream_id).map(|slot| {
            slot.used = now;
            slot.folded.clone()
        })
    }

    /// Streams held now.
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Events the held folds stand for.
    pub fn weight(&self) -> usize {
        self.lock().weight
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stream's fold as of `tail` (read with `since` = the held version): the held fold
    /// itself when nothing changed, else the held state with the new events folded on (or a
    /// fold from the start when nothing usable was held). Keeps and returns the result.
    pub fn advance(
        &self,
        held: Option<Arc<Folded<D::State>>>,
        tail: StreamTail,
    ) -> Result<Arc<Folded<D::State>>, ApiError> {
        let base = held.filter(|h| tail.from > 0 && h.version == tail.from);
        if let Some(h) = &base
            && h.version == tail.version
        {
            return Ok(h.clone());
        }
        // The log must hand over exactly the versions after the base, up to its head; anything
        // else means the read and the cache disagree, and a wrong file is worse than an error.
        let expected = (tail.from + 1..=tail.version).collect::<Vec<_>>();
        let got = tail
            .events
            .iter()
            .map(|e| e.stream_version)
            .collect::<Vec<_>>();
        if expected != got {
            return Err(ApiError::internal(format!(
                "{}: expected versions {}..={} after the held fold, the log returned {:?}",
                tail.stream_id,
                tail.from + 1,
                tail.version,
                got
            )));
        }
        let (mut state, mut timeline) = match &base {
            Some(h) => (h.state.clone(), h.timeline.clone()),
            None => (D::State::default(), Vec::new()),
        };
        for e in &tail.events {
            state = D::evolve(state, &decode::<D>(e)?);
            if self.keep_timeline {
                timeline.push(TimelineEntry::from(e));
            }
        }
        let folded = Arc::new(Folded {
            ledger: tail.ledger,
            version: tail.version,
            state,
            timeline,
        });
        self.keep(tail.stream_id, folded.clone());
        Ok(folded)
    }

    /// One stream now: one round trip.
    pub async fn current(
        &self,
        probes: &ProbePool,
        stream_id: &str,
    ) -> Result<Option<Arc<Folded<D::State>>>, ApiError> {
        let held = self.held(stream_id);
        let tail = read_since(probes, &[(stream_id, since(&held))])
            .await?
            .pop();
        tail.map(|t| self.advance(held, t)).transpose()
    }

    fn keep(&self, stream_id: String, folded: Arc<Folded<D::State>>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        // A slower reader must not replace a newer fold with an older one.
        if let Some(slot) = inner.slots.get(&stream_id)
            && slot.folded.version > folded.version
        {
            return;
        }
        let added = weight(&folded);
        if added > self.capacity {
            // Bigger than the whole bound: not kept, and nothing else is pushed out for it.
            if let Some(old) = inner.slots.remove(&stream_id) {
                inner.weight -= weight(&old.folded);
            }
            return;
        }
        if let Some(old) = inner.slots.insert(stream_id, Slot { folded, used }) {
            inner.weight -= weight(&old.folded);
        }
        inner.weight += added;
        if inner.weight > self.capacity {
            // Down to seven eighths at once, least recently used first, so eviction is amortised.
            let target = self.capacity / 8 * 7;
            let mut by_age: Vec<(u64, String, usize)> = inner
                .slots
                .iter()
                .map(|(k, s)| (s.used, k.clone(), weight(&s.folded)))
                .collect();
            by_age.sort_unstable_by_key(|(u, _, _)| *u);
            for (_, key, w) in by_age {
                if inner.weight <= target {
                    break;
                }
                inner.slots.remove(&key);
                inner.weight -= w;
            }
        }
    }
}

/// What a fold counts against the bound: the events it stands for.
fn weight<S>(f: &Folded<S>) -> usize {
    usize::try_from(f.version).unwrap_or(usize::MAX).max(1)
}

fn decode<D>(e: &RecordedEvent) -> Result<D::Event, ApiError>
where
    D: Decider,
    D::Event: DeserializeOwned,
{
    e.decode().map_err(|err| {
        ApiError::internal(format!(
            "{} v{} of {} does not decode: {err}",
            e.event_type, e.stream_version, e.stream_id
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(version: i64) -> Arc<Folded<PolicyBook>> {
        Arc::new(Folded {
            ledger: "370000".into(),
            version,
            ..Folded::default()
        })
    }

    fn tail(stream: &str, from: i64, version: i64) -> StreamTail {
        StreamTail {
            stream_id: stream.into(),
            ledger: "370000".into(),
            version,
            from,
            events: Vec::new(),
        }
    }

    #[test]
    fn a_held_fold_is_returned_as_is_when_the_log_has_nothing_new() {
        let cache = FoldCache::<Policy>::new(8, false);
        let held = fold(3);
        let got = cache
            .advance(Some(held.clone()), tail("policy-37", 3, 3))
            .expect("advance");
        assert!(Arc::ptr_eq(&got, &held));
    }

    #[test]
    fn missing_versions_in_the_tail_are_refused_not_folded() {
        let cache = FoldCache::<Policy>::new(8, false);
        // The log says version 2 but hands over nothing after version 0.
        let err = cache
            .advance(None, tail("policy-37", 0, 2))
            .err()
            .expect("refused");
        assert_eq!(err.code(), "INTERNAL");
        assert!(cache.is_empty());
    }

    #[test]
    fn the_least_recently_used_folds_go_first_and_an_older_fold_never_replaces_a_newer() {
        // Room for eight one-event folds.
        let cache = FoldCache::<Policy>::new(8, false);
        for i in 0..8 {
            cache.keep(format!("s{i}"), fold(1));
        }
        assert_eq!(cache.weight(), 8);
        // s0 is read again, so s1 is now the least recently used.
        assert!(cache.held("s0").is_some());
        cache.keep("s8".into(), fold(1));
        assert!(cache.weight() <= 8);
        assert!(cache.held("s0").is_some());
        assert!(cache.held("s1").is_none());
        cache.keep("s0".into(), fold(3));
        cache.keep("s0".into(), fold(2));
        assert_eq!(cache.held("s0").expect("held").version, 3);
        assert_eq!(
            cache.weight(),
            cache
                .lock()
                .slots
                .values()
                .map(|s| s.folded.version as usize)
                .sum::<usize>()
        );
    }

    #[test]
    fn a_long_stream_weighs_its_events_and_pushes_out_short_ones() {
        let cache = FoldCache::<Policy>::new(100, false);
        for i in 0..10 {
            cache.keep(format!("short{i}"), fold(9));
        }
        assert_eq!(cache.len(), 10);
        cache.keep("long".into(), fold(60));
        // 90 + 60 > 100: the oldest short folds go until at most 87 events are held.
        assert!(cache.weight() <= 87, "{}", cache.weight());
        assert!(cache.held("long").is_some());
        assert!(cache.held("short0").is_none());
        assert!(cache.held("short9").is_some());
        // A fold bigger than the whole bound is not kept, and pushes nothing out.
        let before = cache.weight();
        cache.keep("huge".into(), fold(500));
        assert!(cache.held("huge").is_none());
        assert_eq!(cache.weight(), before);
        assert!(cache.held("long").is_some());
    }
}
