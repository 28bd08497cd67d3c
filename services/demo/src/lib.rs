//! The demo district (`dixian serve --demo`, `dixian demo`): a synthetic 临淄区 (Linzi District,
//! Zibo, Shandong, `370305`) with its real streets and towns, villages and grids, a few thousand
//! households, dozens of monitored households at every stage of the case lifecycle, open and
//! overdue alerts, and one user per role — so that a newcomer queries real-looking data within a
//! minute.
//!
//! **Same commands as real data.** Users, households and alerts are domain commands decided by
//! the domain and appended by [`exec::execute`], exactly as the GraphQL mutations do; regions go
//! through [`region::define`]; the province's policy is the `shandong_defaults` events. Nothing
//! here writes a read-model row: the projections derive them from the log as for any other data.
//!
//! **Deterministic.** One seed drives a splitmix64 generator. Every command id is derived from
//! the seed and a semantic key (`case:c23-05/income:2024-03`, `hh:17/register`), and each
//! household draws from its own generator keyed by its key, so the same household comes out the
//! same whatever the district's size. Command fingerprints cover those keys, not business times
//! (recent steps are dated relative to the day of loading) nor sealed personal data (sealing
//! uses a fresh nonce): loading again is a series of duplicates that appends nothing. A marker
//! command appended last (the county's name, with the command id `marker:<households>`) lets a
//! second start see at once that the demo is loaded and only re-issue tokens.
//!
//! **Time.** History before 2026 uses fixed dates; what must look current (open alerts,
//! procedures in progress, the last months of income) is dated back from the day of loading. The
//! seed document's figure holds: 22 households / 62 people are newly included (county approval)
//! in 2023, and no other household is. Business times only move forward within a household.
//!
//! **People.** Names are drawn from common surnames and given names; ID numbers are made up:
//! region prefix `370305`, a birth date consistent with the person's relation and age, a random
//! sequence number with the right parity for the sex, and the GB 11643 check digit. They are
//! sealed like any captured ID number. No real person's data is used.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use dixian_api::pii::PiiKeys;
use dixian_api::{ApiContext, Caller};
use dixian_commands::exec::append_request;
use dixian_commands::{CommandError, CommandMeta, FollowUp, StreamRef, alert_reactions};
use dixian_domain::alert::*;
use dixian_domain::household::*;
use dixian_domain::household::{
    Household, HouseholdCommand as H, IncomeComponents, Insurance, LivingConditions, MemberProfile,
    VisitChecklist,
};
use dixian_domain::policy::{PolicyBook, shandong_defaults};
use dixian_domain::user::{AssignCadre, CadreScope, GrantSample, RegisterUser, User, UserCommand};
use dixian_domain::vocab::{
    Category, Employment, FocusGroup, Health, LabourCapacity, MeasureType, MemberChangeReason,
    Relation, ReviewResult, RiskType, SafetyNet, Schooling, StudyDecision, TownshipDecision,
    VisitKind,
};
use dixian_domain::{
    Actor, AttachmentHash, Command, GridId, IdNumber, RegionCode, Role, StreamId, YearMonth,
    china_date,
};
use dixian_store::{ExpectedVersion, LedgerId};
use uuid::Uuid;

/// The demo loads through the API's context (store, executor, reactors, pool); the name keeps
/// the loader's text as it was in the server crate.
use dixian_api::ApiContext as Services;
use dixian_api::Auth;

/// Linzi District.
pub const COUNTY: &str = "370305";
/// Shandong's ledger, where `policy-37` lives.
const PROVINCE_LEDGER: &str = "370000";
pub const DEFAULT_HOUSEHOLDS: usize = 2000;
/// Below this the fixed cases would crowd out ordinary households.
pub const MIN_HOUSEHOLDS: usize = 100;
pub const DEFAULT_SEED: u64 = 0x0037_0305_2023_0062;
/// How long a plan waits for the alert reactor's follow-up on the household's file.
const REACTION_WAIT: Duration = Duration::from_secs(60);

/// How much to load, and how.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub households: usize,
    pub seed: u64,
    /// Households loaded at the same time.
    pub workers: usize,
    /// Run every command even when the marker says the demo is loaded (all duplicates then).
    pub force: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            households: DEFAULT_HOUSEHOLDS,
            seed: DEFAULT_SEED,
            workers: 12,
            force: false,
        }
    }
}

/// One of the users the demo prints a token for.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    pub jurisdiction: RegionCode,
    /// The jurisdiction's name, e.g. 稷下街道合理村.
    pub place: String,
}

/// What the demo district holds, and what loading it did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub already_loaded: bool,
    pub households: usize,
    pub people: usize,
    pub townships: usize,
    pub villages: usize,
    pub grids: usize,
    /// Registered users (all roles, all villages).
    pub user_count: usize,
    /// The printed users, one per role.
    pub users: Vec<DemoUser>,
    /// Monitored-household cases by lifecycle stage.
    pub stages: BTreeMap<&'static str, usize>,
    /// Alerts by status as of loading.
    pub alerts: BTreeMap<&'static str, usize>,
    /// Households tagged per focus group.
    pub focus_groups: BTreeMap<&'static str, usize>,
    /// Households and people newly included (county approval) in 2023.
    pub included_2023: (usize, usize),
    /// A monitored household whose removal is not yet allowed (the README's example).
    pub monitored_household: Uuid,
    /// A monitored household eligible for risk removal.
    pub eligible_household: Uuid,
    /// Alerts still open, and those past a round's deadline.
    pub open_alerts: Vec<Uuid>,
    pub overdue_alerts: Vec<Uuid>,
    /// Commands run (new or duplicate) and events appended by this load.
    pub commands: u64,
    pub new_events: i64,
    pub elapsed: Duration,
}

/// Loads the default demo district (2000 households).
pub async fn load(services: &Services) -> anyhow::Result<DemoReport> {
    load_with(services, &DemoOptions::default()).await
}

/// Loads the demo district; a second call finds the marker and appends nothing.
pub async fn load_with(services: &Services, options: &DemoOptions) -> anyhow::Result<DemoReport> {
    let started = Instant::now();
    if options.households < MIN_HOUSEHOLDS {
        bail!("the demo needs at least {MIN_HOUSEHOLDS} households");
    }
    let api = services;
    let county = LedgerId::parse(COUNTY).map_err(|e| anyhow!("{e}"))?;
    let province = LedgerId::parse(PROVINCE_LEDGER).map_err(|e| anyhow!("{e}"))?;
    services.store.open_ledger(&province).await?;
    services.store.open_ledger(&county).await?;
    let heads_before = heads(services).await?;

    let world = World::build(options.seed);
    let marker = demo_id(options.seed, &format!("marker:{}", options.households));
    let already_loaded = api.store.find_command(&county, marker).await?.is_some();
    let loading = !already_loaded || options.force;
    if loading {
        seed_policy(api, options.seed).await?;
    }
    let policy = api
        .folds
        .policy("37")
        .await
        .map_err(|e| anyhow!("policy-37: {}", e.message()))?
        .state
        .clone();
    let now = Utc::now();
    let generator = Gen {
        seed: options.seed,
        world: &world,
        policy,
        pii: &api.pii,
        today: china_date(now),
        now,
    };
    let plans = generator.plans(options.households)?;
    let stats = Arc::new(Stats::default());
    if loading {
        tracing::info!(
            households = options.households,
            commands = plans.iter().map(|p| p.ops.len()).sum::<usize>(),
            "loading the demo district"
        );
        let regions = tokio::spawn(define_regions(
            api.clone(),
            world.region_list(),
            world.county.caller(),
            options.seed,
        ));
        let ran = run_plans(
            services,
            plans.clone(),
            options.workers.max(1),
            stats.clone(),
        )
        .await;
        let defined = regions
            .await
            .map_err(|e| anyhow!("defining regions: {e}"))?;
        ran?;
        stats.commands.fetch_add(defined?, Ordering::Relaxed);
        dixian_api::region::define(api, &world.county.caller(), marker, COUNTY, "临淄区")
            .await
            .map_err(|e| anyhow!("demo marker: {}", e.message()))?;
    }
    let heads_after = heads(services).await?;
    let new_events = heads_after
        .iter()
        .map(|(l, seq)| seq - heads_before.get(l).copied().unwrap_or(0))
        .sum();
    Ok(report(
        &world,
        &plans,
        already_loaded && !options.force,
        stats.commands.load(Ordering::Relaxed),
        new_events,
        started.elapsed(),
    ))
}

async fn heads(services: &Services) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut conn = services.pool.acquire().await?;
    Ok(dixian_store::read::ledger_heads(&mut conn)
        .await?
        .into_iter()
        .filter(|h| h.ledger == COUNTY || h.ledger == PROVINCE_LEDGER)
        .map(|h| (h.ledger, h.last_seq))
        .collect())
}

/// Appends Shandong's starting policy unless the province has a policy already.
async fn seed_policy(api: &ApiContext, seed: u64) -> anyhow::Result<()> {
    let stream = StreamRef::policy("37").map_err(|e| anyhow!("{}", e.message()))?;
    if api
        .exec
        .ledger_of(&stream.id)
        .await
        .map_err(|e| anyhow!("{}", e.message()))?
        .is_some()
    {
        return Ok(());
    }
    let province = RegionCode::parse("37").map_err(|e| anyhow!("{e}"))?;
    let system = dixian_api::user::system_caller(&province);
    let by = Actor::new(system.user_id, system.role, system.jurisdiction.clone());
    let events = shandong_defaults(&by, china_time(ymd(2022, 12, 1), 9, 0));
    let meta = CommandMeta::new(
        demo_id(seed, "policy-37"),
        &"shandong_defaults",
        "demo/policy",
    );
    let request = append_request(&by, &stream, &meta, ExpectedVersion::NoStream, &events)
        .map_err(|e| anyhow!("{}", e.message()))?;
    match api.store.append(request).await {
        Ok(_) => Ok(()),
        // Someone else configured the province meanwhile: theirs stands.
        Err(dixian_store::AppendError::Conflict { .. }) => Ok(()),
        Err(e) => Err(anyhow!("seeding policy-37: {e}")),
    }
}

// ── printing ─────────────────────────────────────────────────────────────────────────────

/// Prints the report, a token per role and example queries against `listen`.
pub fn print_report(
    report: &DemoReport,
    auth: &Auth,
    listen: SocketAddr,
    hours: i64,
) -> anyhow::Result<()> {
    println!("{}", render(report, auth, listen, hours)?);
    Ok(())
}

fn env_name(role: Role) -> String {
    format!("DIXIAN_TOKEN_{}", role.code())
}

/// The report as text: what is loaded, tokens, example queries.
pub fn render(
    report: &DemoReport,
    auth: &Auth,
    listen: SocketAddr,
    hours: i64,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let join = |m: &BTreeMap<&'static str, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        out,
        "══ Dixian (底线) demo district: 淄博市临淄区 ({COUNTY}) ══"
    )?;
    if report.already_loaded {
        writeln!(
            out,
            "already loaded ({} new events); tokens re-issued",
            report.new_events
        )?;
    } else {
        writeln!(
            out,
            "loaded in {:.1} s: {} commands, {} new events",
            report.elapsed.as_secs_f64(),
            report.commands,
            report.new_events
        )?;
    }
    writeln!(
        out,
        "{} households, {} people in {} streets and towns, {} villages, {} grids; {} users",
        report.households,
        report.people,
        report.townships,
        report.villages,
        report.grids,
        report.user_count
    )?;
    writeln!(out, "cases by stage: {}", join(&report.stages))?;
    writeln!(out, "alerts: {}", join(&report.alerts))?;
    writeln!(out, "focus groups: {}", join(&report.focus_groups))?;
    writeln!(
        out,
        "newly included in 2023: {} households, {} people",
        report.included_2023.0, report.included_2023.1
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Tokens (valid {hours} h; `dixian token --user <id>` issues more):"
    )?;
    let now = Utc::now();
    for u in &report.users {
        let caller = Caller {
            user_id: u.user_id,
            role: u.role,
            jurisdiction: u.jurisdiction.clone(),
        };
        let token = auth
            .issue(&caller, now, now + TimeDelta::hours(hours))
            .map_err(|e| anyhow!("{}", e.message()))?;
        writeln!(
            out,
            "  # {} {} {} — {} {} — user {}",
            u.role.code(),
            u.role.label_zh(),
            u.name,
            u.jurisdiction.as_str(),
            u.place,
            u.user_id
        )?;
        writeln!(out, "  export {}='{token}'", env_name(u.role))?;
    }
    let url = format!("http://{listen}/graphql");
    let curl = |token: &str, query: &str| {
        let body = serde_json::json!({ "query": query }).to_string();
        format!(
            "  curl -s {url} -H \"Authorization: Bearer ${token}\" -H 'Content-Type: application/json' \\\n    -d '{body}'"
        )
    };
    writeln!(out)?;
    writeln!(out, "Example queries (GraphiQL at {url}):")?;
    writeln!(
        out,
        "{}",
        curl(
            &env_name(Role::GridWorker),
            "{ me { name role { code labelZh } } }"
        )
    )?;
    writeln!(
        out,
        "{}",
        curl(
            &env_name(Role::CountyOfficer),
            &format!(
                "{{ household(id: \"{}\") {{ headName status {{ labelZh }} members {{ name idNumber }} incomes {{ windowEnd perCapitaFen }} removalEligibility {{ eligible reasons {{ code messageZh }} }} timeline {{ eventType seq }} }} }}",
                report.monitored_household
            )
        )
    )?;
    writeln!(
        out,
        "{}",
        curl(
            &env_name(Role::Auditor),
            "{ regions(parent: \"370305\") { code name } }"
        )
    )?;
    writeln!(
        out,
        "  # a household eligible for risk removal: {}",
        report.eligible_household
    )?;
    Ok(out)
}

// ── the generator ────────────────────────────────────────────────────────────────────────

/// splitmix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn keyed(seed: u64, key: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = Self(seed ^ h);
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = usize::try_from(hi - lo + 1).unwrap_or(1);
        lo + i64::try_from(self.below(span)).unwrap_or(0)
    }

    fn chance(&mut self, per_mille: usize) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = u32::try_from(self.below(total as usize)).unwrap_or(0);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// A stable id for a key.
fn demo_id(seed: u64, key: &str) -> Uuid {
    let mut rng = Rng::keyed(seed, key);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a calendar date")
}

fn days(d: NaiveDate, n: i64) -> NaiveDate {
    d + TimeDelta::days(n)
}

/// An instant at a time of day in China (UTC+8).
fn china_time(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.and_hms_opt(hour, minute, 0).expect("a time of day");
    (local - TimeDelta::hours(8)).and_utc()
}

fn add_months(m: YearMonth, k: i32) -> YearMonth {
    let mut m = m;
    for _ in 0..k.unsigned_abs() {
        m = if k > 0 { m.next() } else { m.previous() };
    }
    m
}

fn attachment(seed: u64, key: &str) -> AttachmentHash {
    let digest = dixian_store::hash::sha256(format!("dixian-demo|{seed}|{key}").as_bytes());
    AttachmentHash::parse(&hex::encode(digest)).expect("a SHA-256 is 64 hex digits")
}

// ── places and users ─────────────────────────────────────────────────────────────────────

/// The 5 streets (街道) with their real codes and the 7 towns (镇). The towns' codes `101`–`107`
/// are synthetic: the demo does not claim their statistical codes. The number is a relative
/// weight of households; the names are real villages where DESIGN.md §6 gives them.
const TOWNSHIPS: [(&str, &str, u32, &[&str]); 12] = [
    ("001", "闻韶街道", 8, &[]),
    ("002", "雪宫街道", 6, &[]),
    ("003", "辛店街道", 10, &[]),
    (
        "004",
        "稷下街道",
        12,
        &[
            "合理", "耿王", "郑王", "高娄", "东安", "西安", "南安", "韩家", "大杨", "槐行", "董褚",
            "尧王",
        ],
    ),
    (
        "005",
        "齐陵街道",
        9,
        &[
            "杨东",
            "杨西",
            "王齐",
            "南齐陵",
            "淄河",
            "柳店",
            "南山",
            "石庙",
        ],
    ),
    ("101", "齐都镇", 10, &[]),
    ("102", "皇城镇", 9, &[]),
    ("103", "敬仲镇", 8, &[]),
    ("104", "朱台镇", 9, &[]),
    ("105", "凤凰镇", 9, &[]),
    ("106", "金岭回族镇", 5, &[]),
    ("107", "金山镇", 5, &[]),
];

/// 稷下街道 合理村: the printed grid worker's and secretary's village.
const DEMO_VILLAGE: (usize, usize) = (3, 0);

const SURNAMES: [&str; 36] = [
    "王", "张", "李", "刘", "孙", "赵", "陈", "杨", "徐", "马", "高", "于", "崔", "宋", "毕", "孟",
    "耿", "董", "齐", "边", "郑", "韩", "田", "曹", "石", "魏", "路", "翟", "冯", "吴", "周", "朱",
    "袁", "郭", "姜", "房",
];
const PLACE_PREFIXES: [&str; 10] = ["东", "西", "南", "北", "前", "后", "大", "小", "上", "新"];
const COMMUNITIES: [&str; 12] = [
    "齐园",
    "桓公",
    "遄台",
    "晏婴",
    "管仲",
    "太公",
    "牛山",
    "梧台",
    "天齐",
    "康平",
    "宫家",
    "凤凰山",
];

fn given_name(rng: &mut Rng, year: i32, male: bool) -> &'static str {
    const OLD_M: [&str; 16] = [
        "德顺", "福林", "建国", "建华", "庆海", "玉田", "长青", "振江", "文祥", "宝山", "连生",
        "树林", "洪喜", "永福", "金河", "守田",
    ];
    const OLD_F: [&str; 14] = [
        "桂兰", "秀英", "玉兰", "凤英", "淑珍", "秀兰", "翠花", "桂英", "兰英", "玉珍", "春梅",
        "金凤", "秀云", "玉芹",
    ];
    const MID_M: [&str; 16] = [
        "志强", "建军", "海涛", "卫东", "立新", "红军", "国庆", "振华", "明亮", "军", "勇", "强",
        "刚", "磊", "伟", "学文",
    ];
    const MID_F: [&str; 14] = [
        "丽娟", "秀芳", "红霞", "海燕", "艳", "丽", "敏", "静", "霞", "玲", "芳", "红梅", "春燕",
        "晓红",
    ];
    const YOUNG_M: [&str; 12] = [
        "浩", "鹏", "超", "帅", "凯", "杰", "宇航", "晓东", "文博", "志鹏", "明轩", "嘉豪",
    ];
    const YOUNG_F: [&str; 12] = [
        "婷婷", "晓丽", "倩", "颖", "雪", "佳佳", "丹丹", "晓燕", "慧敏", "璐", "梦瑶", "雅琪",
    ];
    const KID_M: [&str; 10] = [
        "子轩", "浩然", "宇轩", "俊杰", "一鸣", "皓轩", "博文", "梓豪", "沐阳", "锦程",
    ];
    const KID_F: [&str; 10] = [
        "欣怡", "雨桐", "子涵", "梓萱", "一诺", "思琪", "佳怡", "诗涵", "语嫣", "可馨",
    ];
    let pool: &[&'static str] = match (year, male) {
        (..=1960, true) => &OLD_M,
        (..=1960, false) => &OLD_F,
        (1961..=1985, true) => &MID_M,
        (1961..=1985, false) => &MID_F,
        (1986..=2005, true) => &YOUNG_M,
        (1986..=2005, false) => &YOUNG_F,
        (_, true) => &KID_M,
        (_, false) => &KID_F,
    };
    rng.pick(pool)
}

fn person_name(rng: &mut Rng, year: i32, male: bool) -> String {
    let surname = rng.pick(&SURNAMES);
    format!("{surname}{}", given_name(rng, year, male))
}

#[derive(Debug, Clone)]
struct UserSpec {
    id: Uuid,
    name: String,
    role: Role,
    jurisdiction: RegionCode,
    place: String,
}

impl UserSpec {
    fn new(seed: u64, rng: &mut Rng, role: Role, code: &str, place: &str) -> Self {
        let year = i32::try_from(rng.between(1966, 1995)).unwrap_or(1980);
        let male = rng.chance(600);
        Self {
            id: demo_id(seed, &format!("user:{}:{code}", role.code())),
            name: person_name(rng, year, male),
            role,
            jurisdiction: RegionCode::parse(code).expect("a demo region code"),
            place: place.to_owned(),
        }
    }

    fn actor(&self) -> Actor {
        Actor::new(self.id, self.role, self.jurisdiction.clone())
    }

    fn caller(&self) -> Caller {
        Caller {
            user_id: self.id,
            role: self.role,
            jurisdiction: self.jurisdiction.clone(),
        }
    }

    fn demo_user(&self) -> DemoUser {
        DemoUser {
            user_id: self.id,
            name: self.name.clone(),
            role: self.role,
            jurisdiction: self.jurisdiction.clone(),
            place: self.place.clone(),
        }
    }
}

#[derive(Debug)]
struct Village {
    code: RegionCode,
    name: String,
    grids: u32,
    grid_worker: UserSpec,
    secretary: UserSpec,
}

#[derive(Debug)]
struct Township {
    code: RegionCode,
    name: &'static str,
    weight: u32,
    officer: UserSpec,
    cadre: UserSpec,
    villages: Vec<Village>,
}

#[derive(Debug)]
struct World {
    townships: Vec<Township>,
    county: UserSpec,
    auditor: UserSpec,
    spot_checker: UserSpec,
}

impl World {
    fn build(seed: u64) -> Self {
        let mut rng = Rng::keyed(seed, "world");
        let mut used = HashSet::new();
        let townships = TOWNSHIPS
            .iter()
            .map(|(suffix, name, weight, real)| {
                let code = format!("{COUNTY}{suffix}");
                let urban = matches!(*suffix, "001" | "002" | "003");
                let names: Vec<String> = if real.is_empty() {
                    let n = 4 + rng.below(5);
                    let mut names = Vec::new();
                    while names.len() < n {
                        let candidate = if urban && rng.chance(500) {
                            format!("{}社区", rng.pick(&COMMUNITIES))
                        } else {
                            let s = rng.pick(&SURNAMES);
                            match rng.below(5) {
                                0 => format!("{s}家庄"),
                                1 => format!("{}{s}村", rng.pick(&PLACE_PREFIXES)),
                                2 => format!("{s}官庄村"),
                                3 => format!("{}{s}家村", rng.pick(&PLACE_PREFIXES)),
                                _ => format!("{s}家屯村"),
                            }
                        };
                        if used.insert(candidate.clone()) {
                            names.push(candidate);
                        }
                    }
                    names
                } else {
                    real.iter().map(|n| format!("{n}村")).collect()
                };
                let villages = names
                    .into_iter()
                    .enumerate()
                    .map(|(k, vname)| {
                        let vcode = format!("{code}{:03}", 201 + k);
                        let place = format!("{name}{vname}");
                        Village {
                            code: RegionCode::parse(&vcode).expect("a village code"),
                            grids: 2 + u32::from(rng.chance(500)),
                            grid_worker: UserSpec::new(
                                seed,
                                &mut rng,
                                Role::GridWorker,
                                &vcode,
                                &place,
                            ),
                            secretary: UserSpec::new(
                                seed,
                                &mut rng,
                                Role::VillageSecretary,
                                &vcode,
                                &place,
                            ),
                            name: vname,
                        }
                    })
                    .collect();
                Township {
                    code: RegionCode::parse(&code).expect("a township code"),
                    name,
                    weight: *weight,
                    officer: UserSpec::new(seed, &mut rng, Role::TownshipOfficer, &code, name),
                    cadre: UserSpec::new(seed, &mut rng, Role::Cadre, &code, name),
                    villages,
                }
            })
            .collect();
        Self {
            townships,
            county: UserSpec::new(
                seed,
                &mut rng,
                Role::CountyOfficer,
                COUNTY,
                "临淄区乡村振兴局",
            ),
            auditor: UserSpec::new(seed, &mut rng, Role::Auditor, COUNTY, "临淄区督导检查组"),
            spot_checker: UserSpec::new(
                seed,
                &mut rng,
                Role::SpotChecker,
                COUNTY,
                "第三方评估机构",
            ),
        }
    }

    fn village(&self, (t, v): (usize, usize)) -> (&Township, &Village) {
        let township = &self.townships[t % self.townships.len()];
        (township, &township.villages[v % township.villages.len()])
    }

    fn random_village(&self, rng: &mut Rng) -> (usize, usize) {
        let weights: Vec<u32> = self.townships.iter().map(|t| t.weight).collect();
        let t = rng.weighted(&weights);
        (t, rng.below(self.townships[t].villages.len()))
    }

    /// Every user, in registration order.
    fn users(&self) -> Vec<&UserSpec> {
        let mut out = vec![&self.county, &self.auditor, &self.spot_checker];
        for t in &self.townships {
            out.push(&t.officer);
            out.push(&t.cadre);
            for v in &t.villages {
                out.push(&v.grid_worker);
                out.push(&v.secretary);
            }
        }
        out
    }

    /// The printed users: one per role.
    fn printed(&self) -> Vec<DemoUser> {
        let (township, village) = self.village(DEMO_VILLAGE);
        vec![
            village.grid_worker.demo_user(),
            village.secretary.demo_user(),
            township.cadre.demo_user(),
            township.officer.demo_user(),
            self.county.demo_user(),
            self.auditor.demo_user(),
            self.spot_checker.demo_user(),
        ]
    }

    /// Townships, villages and grids with their names, parents first.
    fn region_list(&self) -> Vec<(String, String)> {
        const NUMBERS: [&str; 3] = ["一", "二", "三"];
        let mut out = Vec::new();
        for t in &self.townships {
            out.push((t.code.as_str().to_owned(), t.name.to_owned()));
            for v in &t.villages {
                out.push((v.code.as_str().to_owned(), v.name.clone()));
                for g in 1..=v.grids {
                    let n = NUMBERS[usize::try_from(g - 1).unwrap_or(0) % NUMBERS.len()];
                    out.push((format!("{}-{g}", v.code), format!("{}第{n}网格", v.name)));
                }
            }
        }
        out
    }
}

/// Defines every township, village and grid (sequentially: one stream). Returns the count.
async fn define_regions(
    api: ApiContext,
    regions: Vec<(String, String)>,
    caller: Caller,
    seed: u64,
) -> anyhow::Result<u64> {
    for (code, name) in &regions {
        dixian_api::region::define(
            &api,
            &caller,
            demo_id(seed, &format!("region:{code}")),
            code,
            name,
        )
        .await
        .map_err(|e| anyhow!("defining region {code}: {}", e.message()))?;
    }
    Ok(regions.len() as u64)
}

// ── people ───────────────────────────────────────────────────────────────────────────────

/// The kind of family a household is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ordinary,
    /// Working-age head with labour: every case that may leave monitoring.
    Working,
    ElderlyAlone,
    ElderlyCouple,
    /// Grandparents with left-behind grandchildren; the parents work away (not resident).
    LeftBehind,
}

/// A member before sealing.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    relation: Relation,
    birth: NaiveDate,
    male: bool,
    health: Health,
    disability: Option<u8>,
    labour: LabourCapacity,
    schooling: Schooling,
    employment: Employment,
    safety_net: SafetyNet,
    medical: bool,
    pension: bool,
    resident: bool,
}

/// Ages are as of mid-2022, when the households are registered.
const REF_YEAR: i64 = 2022;

fn birth_for_age(rng: &mut Rng, age: i64) -> NaiveDate {
    let year = i32::try_from((REF_YEAR - age).min(2021)).unwrap_or(2000);
    days(ymd(year, 1, 1), rng.between(0, 364))
}

fn spec(relation: Relation, age: i64, male: bool, surname: &str, rng: &mut Rng) -> Spec {
    let birth = birth_for_age(rng, age);
    spec_born(rng, relation, birth, male, surname)
}

fn spec_born(
    rng: &mut Rng,
    relation: Relation,
    birth: NaiveDate,
    male: bool,
    surname: &str,
) -> Spec {
    let age = REF_YEAR - i64::from(birth.year());
    let name = format!("{surname}{}", given_name(rng, birth.year(), male));
    let schooling = match age {
        ..=2 => Schooling::None,
        3..=5 => Schooling::Preschool,
        6..=11 => Schooling::Primary,
        12..=14 => Schooling::Junior,
        15..=17 if rng.chance(780) => Schooling::Senior,
        15..=17 => Schooling::Vocational,
        18..=21 => match rng.below(10) {
            0..=3 => Schooling::Higher,
            4 => Schooling::Vocational,
            _ => Schooling::None,
        },
        _ => Schooling::None,
    };
    let student = schooling != Schooling::None;
    let labour = if age < 16 || student {
        LabourCapacity::None
    } else if age < 60 {
        match rng.below(100) {
            0..=66 => LabourCapacity::Normal,
            67..=94 => LabourCapacity::Skilled,
            _ => LabourCapacity::Weak,
        }
    } else if age < 70 {
        if rng.chance(600) {
            LabourCapacity::Weak
        } else {
            LabourCapacity::Normal
        }
    } else if rng.chance(500) {
        LabourCapacity::Lost
    } else {
        LabourCapacity::Weak
    };
    let employment = if age < 16 || student {
        Employment::NotApplicable
    } else if age < 60 {
        [
            Employment::Farming,
            Employment::LocalWork,
            Employment::MigrantWork,
            Employment::SelfEmployed,
            Employment::Unemployed,
            Employment::PublicWelfareJob,
        ][rng.weighted(&[28, 34, 20, 10, 4, 4])]
    } else if age < 70 && rng.chance(650) {
        Employment::Farming
    } else {
        Employment::NotApplicable
    };
    let health = match age {
        60.. => [
            Health::Healthy,
            Health::Chronic,
            Health::SeriousIllness,
            Health::Disabled,
        ][rng.weighted(&[58, 36, 2, 4])],
        18..=59 => [
            Health::Healthy,
            Health::Chronic,
            Health::SeriousIllness,
            Health::Disabled,
        ][rng.weighted(&[92, 5, 1, 2])],
        _ => [Health::Healthy, Health::Chronic, Health::Disabled][rng.weighted(&[97, 2, 1])],
    };
    let disability =
        (health == Health::Disabled).then(|| 2 + u8::try_from(rng.below(3)).unwrap_or(0));
    let labour = match (health, labour) {
        (
            Health::Disabled | Health::SeriousIllness,
            LabourCapacity::Normal | LabourCapacity::Skilled,
        ) => LabourCapacity::Weak,
        (_, l) => l,
    };
    Spec {
        name,
        relation,
        birth,
        male,
        health,
        disability,
        labour,
        schooling,
        employment,
        safety_net: SafetyNet::None,
        medical: rng.chance(985),
        pension: age >= 16 && !student && rng.chance(900),
        resident: true,
    }
}

fn other_surname(rng: &mut Rng, surname: &str) -> &'static str {
    loop {
        let s = rng.pick(&SURNAMES);
        if s != surname {
            return s;
        }
    }
}

/// A family of exactly `n` members, head first, with ages consistent with relations.
fn family(rng: &mut Rng, n: usize, kind: Kind) -> Vec<Spec> {
    let n = n.max(1);
    let surname = rng.pick(&SURNAMES);
    let mut out = Vec::with_capacity(n);
    let head_male = rng.chance(880);
    let no_labour = |s: &mut Spec, rng: &mut Rng| {
        s.labour = if rng.chance(600) {
            LabourCapacity::Lost
        } else {
            LabourCapacity::None
        };
        s.employment = Employment::NotApplicable;
    };
    match kind {
        Kind::ElderlyAlone => {
            let mut head = spec(
                Relation::Head,
                rng.between(72, 88),
                rng.chance(450),
                surname,
                rng,
            );
            no_labour(&mut head, rng);
            if head.health == Health::Healthy {
                head.health = Health::Chronic;
            }
            out.push(head);
        }
        Kind::ElderlyCouple => {
            let age = rng.between(68, 84);
            out.push(spec(Relation::Head, age, true, surname, rng));
            let spouse_surname = other_surname(rng, surname);
            out.push(spec(
                Relation::Spouse,
                age + rng.between(-4, 1),
                false,
                spouse_surname,
                rng,
            ));
        }
        Kind::LeftBehind => {
            let age = rng.between(58, 70);
            let head = spec(Relation::Head, age, head_male, surname, rng);
            out.push(head);
            let spouse_surname = other_surname(rng, surname);
            let child_age = age - rng.between(26, 30);
            let mut grandkids = 0;
            while out.len() < n {
                match out.len() {
                    1 => out.push(spec(
                        Relation::Spouse,
                        age + rng.between(-3, 2),
                        !head_male,
                        spouse_surname,
                        rng,
                    )),
                    2 | 4 if grandkids < 2 => {
                        grandkids += 1;
                        out.push(spec(
                            Relation::Grandchild,
                            rng.between(5, 13),
                            rng.chance(520),
                            surname,
                            rng,
                        ));
                    }
                    3 => {
                        let mut parent = spec(Relation::Child, child_age, true, surname, rng);
                        parent.resident = false;
                        parent.employment = Employment::MigrantWork;
                        parent.labour = LabourCapacity::Normal;
                        parent.schooling = Schooling::None;
                        out.push(parent);
                    }
                    _ => {
                        let in_law_surname = other_surname(rng, surname);
                        let mut in_law = spec(
                            Relation::ChildInLaw,
                            child_age - 1,
                            false,
                            in_law_surname,
                            rng,
                        );
                        in_law.resident = false;
                        in_law.employment = Employment::MigrantWork;
                        in_law.labour = LabourCapacity::Normal;
                        in_law.schooling = Schooling::None;
                        out.push(in_law);
                    }
                }
            }
        }
        Kind::Ordinary | Kind::Working => {
            let head_age = if kind == Kind::Working {
                rng.between(36, 54)
            } else {
                match rng.weighted(&[20, 35, 30, 15]) {
                    0 => rng.between(28, 40),
                    1 => rng.between(41, 55),
                    2 => rng.between(56, 68),
                    _ => rng.between(69, 80),
                }
            };
            let mut head = spec(Relation::Head, head_age, head_male, surname, rng);
            if kind == Kind::Working {
                head.health = Health::Healthy;
                head.disability = None;
                head.labour = LabourCapacity::Normal;
                head.employment = rng.pick(&[
                    Employment::LocalWork,
                    Employment::MigrantWork,
                    Employment::Farming,
                ]);
            }
            out.push(head);
            let spouse_surname = other_surname(rng, surname);
            if n > 1 && rng.chance(if head_age >= 70 { 600 } else { 930 }) {
                out.push(spec(
                    Relation::Spouse,
                    head_age + rng.between(-4, 3),
                    !head_male,
                    spouse_surname,
                    rng,
                ));
            }
            let parent_ok = head_age <= 52;
            let mut parents = 0;
            if n - out.len() >= 3 && parent_ok && rng.chance(350) {
                out.push(spec(
                    Relation::Parent,
                    head_age + rng.between(25, 30),
                    rng.chance(400),
                    surname,
                    rng,
                ));
                parents += 1;
            }
            let mut next_child = head_age - rng.between(23, 30);
            let mut eldest = None;
            let mut kids = 0;
            let mut in_law = false;
            let mut grandkids = 0;
            while out.len() < n {
                if next_child >= 1 && kids < 3 {
                    out.push(spec(
                        Relation::Child,
                        next_child,
                        rng.chance(520),
                        surname,
                        rng,
                    ));
                    eldest.get_or_insert(next_child);
                    kids += 1;
                    next_child -= rng.between(2, 6);
                    continue;
                }
                let eldest_age = eldest.unwrap_or(0);
                if eldest_age >= 24 && !in_law {
                    in_law = true;
                    let s = other_surname(rng, surname);
                    out.push(spec(
                        Relation::ChildInLaw,
                        eldest_age + rng.between(-2, 2),
                        rng.chance(300),
                        s,
                        rng,
                    ));
                    continue;
                }
                let grandchild_age = eldest_age - rng.between(23, 28);
                if eldest_age >= 25 && grandkids < 2 && grandchild_age >= 1 {
                    grandkids += 1;
                    out.push(spec(
                        Relation::Grandchild,
                        grandchild_age,
                        rng.chance(520),
                        surname,
                        rng,
                    ));
                    continue;
                }
                if parent_ok && parents < 2 {
                    parents += 1;
                    out.push(spec(
                        Relation::Parent,
                        head_age + rng.between(25, 31),
                        parents == 1,
                        surname,
                        rng,
                    ));
                    continue;
                }
                out.push(spec(
                    Relation::Sibling,
                    (head_age + rng.between(-8, 8)).max(18),
                    rng.chance(500),
                    surname,
                    rng,
                ));
            }
        }
    }
    out.truncate(n);
    out
}

/// A fictitious, valid ID number: `370305`, the birth date, a sequence number whose last digit
/// has the sex's parity, and the check digit. Unique within the demo.
fn id_number(rng: &mut Rng, birth: NaiveDate, male: bool, ids: &mut HashSet<String>) -> String {
    loop {
        let sequence = rng.below(500) * 2 + usize::from(male);
        let first17 = format!("{COUNTY}{}{sequence:03}", birth.format("%Y%m%d"));
        let check = IdNumber::check_digit(&first17).expect("17 digits");
        let number = format!("{first17}{check}");
        if ids.insert(number.clone()) {
            return number;
        }
    }
}

fn seal(
    spec: &Spec,
    member_id: Uuid,
    rng: &mut Rng,
    ids: &mut HashSet<String>,
    pii: &PiiKeys,
) -> MemberProfile {
    let number = id_number(rng, spec.birth, spec.male, ids);
    let parsed = IdNumber::parse(&number).expect("a generated ID number is valid");
    MemberProfile {
        member_id,
        name: spec.name.clone(),
        id_number: pii.seal_id(&parsed),
        birth_date: parsed.birth_date(),
        sex: parsed.sex(),
        relation: spec.relation,
        health: spec.health,
        disability_level: spec.disability,
        labour: spec.labour,
        schooling: spec.schooling,
        employment: spec.employment,
        safety_net: spec.safety_net,
        insurance: Insurance {
            medical: spec.medical,
            pension: spec.pension,
        },
        phone: None,
        resident: spec.resident,
    }
}

// ── commands ─────────────────────────────────────────────────────────────────────────────

#[derive(Debug, Clone)]
enum Cmd {
    Household(Box<Command<H>>),
    Alert(Box<Command<AlertCommand>>),
    User(Box<Command<UserCommand>>),
}

/// One command for one stream, with its stable id.
#[derive(Debug, Clone)]
struct Op {
    key: String,
    stream: StreamRef,
    meta: CommandMeta,
    cmd: Cmd,
}

/// Commands run in order (one household with its alerts, or one user).
#[derive(Debug, Clone)]
struct Plan {
    ops: Vec<Op>,
    household: Option<Summary>,
}

/// What a household plan leaves behind, for the report.
#[derive(Debug, Clone)]
struct Summary {
    id: Uuid,
    key: String,
    village: String,
    stage: Option<&'static str>,
    people: usize,
    tags: Vec<FocusGroup>,
    approvals: Vec<NaiveDate>,
    alerts: Vec<(Uuid, &'static str)>,
}

#[derive(Default)]
struct Stats {
    commands: AtomicU64,
}

async fn run_plans(
    services: &Services,
    mut plans: Vec<Plan>,
    workers: usize,
    stats: Arc<Stats>,
) -> anyhow::Result<()> {
    // Longest first, so that no long case is left running alone at the end.
    plans.sort_by_key(|p| std::cmp::Reverse(p.ops.len()));
    let plans = Arc::new(plans);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (services, plans, next, failed, stats) = (
            services.clone(),
            plans.clone(),
            next.clone(),
            failed.clone(),
            stats.clone(),
        );
        tasks.spawn(async move {
            while !failed.load(Ordering::Relaxed) {
                let Some(plan) = plans.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                for op in &plan.ops {
                    if let Err(e) = run_op(&services, op).await {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                    stats.commands.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        });
    }
    let mut first = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined
            .map_err(|e| anyhow!("a demo worker failed: {e}"))
            .and_then(|r| r);
        if let Err(e) = result {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

async fn run_op(services: &Services, op: &Op) -> anyhow::Result<()> {
    let exec = &services.exec;
    let refused = |e: CommandError| anyhow!("demo command {} was refused: {}", op.key, e.message());
    match &op.cmd {
        Cmd::Household(c) => {
            exec.execute::<Household, _>(&op.stream, &op.meta, |_| Ok((**c).clone()))
                .await
                .map_err(refused)?;
        }
        Cmd::User(c) => {
            exec.execute::<User, _>(&op.stream, &op.meta, |_| Ok((**c).clone()))
                .await
                .map_err(refused)?;
        }
        Cmd::Alert(c) => {
            let appended = exec
                .execute::<Alert, _>(&op.stream, &op.meta, |_| Ok((**c).clone()))
                .await
                .map_err(refused)?;
            // The household's next step may need the reaction on its file (a removal waits for
            // its open alerts), so the plan waits for it as a client would.
            // (The demo files applications itself, so it waits for links and closes only.)
            let reaction = alert_reactions::FollowUpKind::after(&c.body)
                .filter(|k| *k != alert_reactions::FollowUpKind::Apply)
                .map(alert_reactions::FollowUpKind::reaction);
            if let Some(reaction) = reaction {
                let follow = services
                    .reactors
                    .follow_up(
                        alert_reactions::NAME,
                        reaction,
                        &appended.ledger,
                        appended.first_seq,
                        REACTION_WAIT,
                    )
                    .await
                    .map_err(refused)?;
                match follow {
                    FollowUp::Done(_) => {}
                    FollowUp::Refused(stuck) => bail!(
                        "the {reaction} reaction to demo command {} was refused: {}",
                        op.key,
                        stuck.error_message
                    ),
                    FollowUp::Pending => bail!(
                        "the {reaction} reaction to demo command {} did not happen within {REACTION_WAIT:?}",
                        op.key
                    ),
                }
            }
        }
    }
    Ok(())
}

/// Everything the generator needs.
struct Gen<'w> {
    seed: u64,
    world: &'w World,
    policy: PolicyBook,
    pii: &'w PiiKeys,
    /// The day of loading in China; recent steps are dated back from it.
    today: NaiveDate,
    now: DateTime<Utc>,
}

/// What a monitored-household case ends as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Applied,
    HomeVerified,
    DataCompared,
    ReviewApproved,
    NoticeOpen,
    NoticeClosed,
    TownshipApproved,
    Returned,
    IdentificationOverdue,
    GreenChannel,
    GreenChannelOverdue,
    RejectedByComparison,
    RejectedByReview,
    Eligible,
    BelowLine,
    TooShort,
    NoLabour,
    OpenAlert,
    HousingInsecure,
    RiskWithoutMeasure,
    RemovalProposed,
    RemovalNoticeOpen,
    RemovalTownshipApproved,
    RemovalWithdrawn,
    Removed,
    RolledBack,
    ReIdentified,
}

impl Fate {
    fn stage(self) -> &'static str {
        match self {
            Self::Applied => "APPLIED",
            Self::HomeVerified => "HOME_VERIFIED",
            Self::DataCompared => "DATA_COMPARED",
            Self::ReviewApproved => "REVIEW_APPROVED",
            Self::NoticeOpen => "NOTICE_OPEN",
            Self::NoticeClosed => "NOTICE_CLOSED",
            Self::TownshipApproved => "TOWNSHIP_APPROVED",
            Self::Returned => "RETURNED_BY_TOWNSHIP",
            Self::IdentificationOverdue => "IDENTIFICATION_OVERDUE",
            Self::GreenChannel => "GREEN_CHANNEL",
            Self::GreenChannelOverdue => "GREEN_CHANNEL_OVERDUE",
            Self::RejectedByComparison | Self::RejectedByReview => "REJECTED",
            Self::Eligible => "MONITORED_ELIGIBLE",
            Self::BelowLine => "MONITORED_INCOME_BELOW_LINE",
            Self::TooShort => "MONITORED_TOO_SHORT",
            Self::NoLabour => "MONITORED_NO_LABOUR",
            Self::OpenAlert => "MONITORED_OPEN_ALERT",
            Self::HousingInsecure => "MONITORED_HOUSING_INSECURE",
            Self::RiskWithoutMeasure => "MONITORED_RISK_WITHOUT_MEASURE",
            Self::RemovalProposed => "REMOVAL_PROPOSED",
            Self::RemovalNoticeOpen => "REMOVAL_NOTICE_OPEN",
            Self::RemovalTownshipApproved => "REMOVAL_TOWNSHIP_APPROVED",
            Self::RemovalWithdrawn => "MONITORED_REMOVAL_WITHDRAWN",
            Self::Removed => "RISK_REMOVED",
            Self::RolledBack => "MONITORED_ROLLED_BACK",
            Self::ReIdentified => "MONITORED_SECOND_EPISODE",
        }
    }
}

/// A monitored-household case to generate.
#[derive(Debug, Clone)]
struct CaseSpec {
    key: String,
    fate: Fate,
    village: (usize, usize),
    size: usize,
    kind: Kind,
    risks: Vec<RiskType>,
    /// The application day for cases dated absolutely (their history lies before 2026).
    apply_on: Option<NaiveDate>,
    via_alert: bool,
    formerly_poor: bool,
}

const RISK_SETS: [&[RiskType]; 8] = [
    &[RiskType::Illness],
    &[RiskType::Illness, RiskType::UnstableWork],
    &[RiskType::Disability],
    &[RiskType::Schooling, RiskType::Illness],
    &[RiskType::UnstableWork],
    &[RiskType::Housing, RiskType::Illness],
    &[RiskType::Accident],
    &[RiskType::FailedBusiness],
];

/// The 2023 cohort: 22 households, 62 people, approved in 2023 (the seed document's figure).
const COHORT_2023: [(Fate, usize); 22] = [
    (Fate::Removed, 4),
    (Fate::Eligible, 3),
    (Fate::Removed, 2),
    (Fate::NoLabour, 1),
    (Fate::Removed, 5),
    (Fate::RolledBack, 3),
    (Fate::Removed, 3),
    (Fate::ReIdentified, 2),
    (Fate::Eligible, 4),
    (Fate::Removed, 2),
    (Fate::BelowLine, 3),
    (Fate::NoLabour, 1),
    (Fate::Removed, 2),
    (Fate::RemovalProposed, 3),
    (Fate::Removed, 4),
    (Fate::Removed, 3),
    (Fate::NoLabour, 2),
    (Fate::RemovalNoticeOpen, 3),
    (Fate::Removed, 4),
    (Fate::Eligible, 2),
    (Fate::BelowLine, 3),
    (Fate::Removed, 3),
];

/// Later cases (approved 2024 or after, or still in identification), always present.
/// Key, fate, application day (year, month, day) when dated absolutely, clue from an alert.
type LaterCase = (&'static str, Fate, Option<(i32, u32, u32)>, bool);

const LATER_CASES: [LaterCase; 28] = [
    ("x24-removed-1", Fate::Removed, Some((2024, 3, 11)), true),
    ("x24-removed-2", Fate::Removed, Some((2024, 5, 20)), false),
    ("x24-removed-3", Fate::Removed, Some((2024, 8, 12)), true),
    ("x24-eligible", Fate::Eligible, Some((2024, 4, 15)), false),
    ("x25-eligible", Fate::Eligible, Some((2025, 3, 10)), true),
    ("x25-below-1", Fate::BelowLine, Some((2025, 2, 17)), false),
    ("x25-below-2", Fate::BelowLine, Some((2025, 6, 9)), true),
    ("x26-short-1", Fate::TooShort, None, false),
    ("x26-short-2", Fate::TooShort, None, true),
    (
        "x24-open-alert",
        Fate::OpenAlert,
        Some((2024, 6, 17)),
        false,
    ),
    (
        "x25-housing",
        Fate::HousingInsecure,
        Some((2025, 4, 14)),
        false,
    ),
    (
        "x25-unmeasured",
        Fate::RiskWithoutMeasure,
        Some((2025, 7, 7)),
        false,
    ),
    (
        "x24-removal-township",
        Fate::RemovalTownshipApproved,
        Some((2024, 10, 14)),
        false,
    ),
    (
        "x24-removal-withdrawn",
        Fate::RemovalWithdrawn,
        Some((2024, 11, 11)),
        true,
    ),
    (
        "x25-removal-proposed",
        Fate::RemovalProposed,
        Some((2025, 1, 13)),
        false,
    ),
    ("id-applied", Fate::Applied, None, true),
    ("id-home-verified", Fate::HomeVerified, None, false),
    ("id-data-compared", Fate::DataCompared, None, false),
    ("id-reviewed", Fate::ReviewApproved, None, false),
    ("id-notice-open", Fate::NoticeOpen, None, true),
    ("id-notice-closed", Fate::NoticeClosed, None, false),
    ("id-township-approved", Fate::TownshipApproved, None, false),
    ("id-returned", Fate::Returned, None, false),
    ("id-overdue", Fate::IdentificationOverdue, None, false),
    ("green-channel", Fate::GreenChannel, None, true),
    (
        "green-channel-overdue",
        Fate::GreenChannelOverdue,
        None,
        true,
    ),
    (
        "rejected-comparison",
        Fate::RejectedByComparison,
        Some((2025, 4, 7)),
        false,
    ),
    (
        "rejected-review",
        Fate::RejectedByReview,
        Some((2024, 9, 9)),
        false,
    ),
];

/// Extra cases, one per 100 households, cycling through these.
const EXTRA_FATES: [Fate; 8] = [
    Fate::Eligible,
    Fate::BelowLine,
    Fate::Removed,
    Fate::TooShort,
    Fate::NoticeOpen,
    Fate::NoLabour,
    Fate::Applied,
    Fate::RemovalProposed,
];

impl Gen<'_> {
    fn line_yuan(&self, month: YearMonth) -> i64 {
        self.policy.line_for_month(month).unwrap_or(700_000) / 100
    }

    fn ago(&self, n: i64) -> NaiveDate {
        days(self.today, -n)
    }

    /// The last month whose income can be recorded (the month before this one).
    fn last_month(&self) -> YearMonth {
        YearMonth::of(self.today).previous()
    }

    fn cases(&self, households: usize) -> Vec<CaseSpec> {
        let mut out = Vec::new();
        for (i, (fate, size)) in COHORT_2023.iter().enumerate() {
            let offset = i64::try_from(i).unwrap_or(0) * 12;
            let in_demo_village = i % 3 == 0
                || matches!(fate, Fate::Eligible | Fate::RolledBack | Fate::ReIdentified);
            let village = if in_demo_village {
                DEMO_VILLAGE
            } else {
                (i * 5 % 12, i * 7)
            };
            let risks: Vec<RiskType> = match fate {
                Fate::NoLabour => vec![RiskType::LackOfLabour, RiskType::Illness],
                Fate::RolledBack => vec![RiskType::Illness, RiskType::UnstableWork],
                _ => RISK_SETS[i % RISK_SETS.len()].to_vec(),
            };
            out.push(CaseSpec {
                key: format!("case:c23-{i:02}"),
                fate: *fate,
                village,
                size: *size,
                kind: match (fate, size) {
                    (Fate::NoLabour, 1) => Kind::ElderlyAlone,
                    (Fate::NoLabour, _) => Kind::ElderlyCouple,
                    _ => Kind::Working,
                },
                risks,
                apply_on: Some(days(ymd(2023, 2, 6), offset)),
                via_alert: i % 2 == 0,
                formerly_poor: i % 4 == 1,
            });
        }
        for (i, (key, fate, on, via_alert)) in LATER_CASES.iter().enumerate() {
            let mut rng = Rng::keyed(self.seed, key);
            let village = if i % 3 == 1 {
                DEMO_VILLAGE
            } else {
                self.world.random_village(&mut rng)
            };
            out.push(self.later_case(
                format!("case:{key}"),
                *fate,
                village,
                on.map(|(y, m, d)| ymd(y, m, d)),
                *via_alert,
                i,
                &mut rng,
            ));
        }
        for k in 0..households / 100 {
            let key = format!("case:extra-{k:03}");
            let mut rng = Rng::keyed(self.seed, &key);
            let fate = EXTRA_FATES[k % EXTRA_FATES.len()];
            let village = self.world.random_village(&mut rng);
            let offset = i64::try_from(k * 41 % 560).unwrap_or(0);
            let apply_on = match fate {
                Fate::Eligible
                | Fate::BelowLine
                | Fate::Removed
                | Fate::NoLabour
                | Fate::RemovalProposed => Some(days(ymd(2024, 2, 5), offset)),
                _ => None,
            };
            out.push(self.later_case(key, fate, village, apply_on, k % 3 == 0, k + 3, &mut rng));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn later_case(
        &self,
        key: String,
        fate: Fate,
        village: (usize, usize),
        apply_on: Option<NaiveDate>,
        via_alert: bool,
        i: usize,
        rng: &mut Rng,
    ) -> CaseSpec {
        let (kind, size, risks) = match fate {
            Fate::NoLabour => {
                let size = 1 + rng.below(2);
                let kind = if size == 1 {
                    Kind::ElderlyAlone
                } else {
                    Kind::ElderlyCouple
                };
                (kind, size, vec![RiskType::LackOfLabour, RiskType::Illness])
            }
            Fate::OpenAlert => (
                Kind::Working,
                2 + rng.below(3),
                vec![RiskType::Illness, RiskType::UnstableWork],
            ),
            Fate::HousingInsecure => (
                Kind::Working,
                2 + rng.below(3),
                vec![RiskType::Housing, RiskType::UnstableWork],
            ),
            Fate::RiskWithoutMeasure => (
                Kind::Working,
                3 + rng.below(2),
                vec![RiskType::Illness, RiskType::Schooling],
            ),
            Fate::GreenChannel => (Kind::Working, 2 + rng.below(3), vec![RiskType::Accident]),
            Fate::GreenChannelOverdue => {
                (Kind::Working, 2 + rng.below(3), vec![RiskType::Disaster])
            }
            _ => (
                Kind::Working,
                1 + rng.below(5),
                RISK_SETS[i % RISK_SETS.len()].to_vec(),
            ),
        };
        CaseSpec {
            key,
            fate,
            village,
            size,
            kind,
            risks,
            apply_on,
            via_alert,
            formerly_poor: i % 4 == 2,
        }
    }

    /// Every plan: users first, then households (cases and ordinary ones).
    fn plans(&self, households: usize) -> anyhow::Result<Vec<Plan>> {
        let mut ids = HashSet::new();
        let cases = self.cases(households);
        let mut household_plans = Vec::with_capacity(households);
        for spec in &cases {
            household_plans.push(case(self, spec, &mut ids));
        }
        for index in 0..households.saturating_sub(cases.len()) {
            household_plans.push(ordinary(self, index, &mut ids));
        }
        let problems: Vec<String> = household_plans
            .iter()
            .flat_map(|(_, problems)| problems.iter().cloned())
            .collect();
        if let Some(first) = problems.first() {
            bail!(
                "the demo generator made {} bad command(s), first: {first}",
                problems.len()
            );
        }
        let household_plans: Vec<Plan> = household_plans.into_iter().map(|(p, _)| p).collect();
        let mut plans = self.user_plans(&household_plans);
        plans.extend(household_plans);
        Ok(plans)
    }

    /// Registrations (dated before any household), cadre assignments and the spot-checker's
    /// sample.
    fn user_plans(&self, households: &[Plan]) -> Vec<Plan> {
        let registered = ymd(2022, 1, 4);
        let system =
            dixian_api::user::system_caller(&RegionCode::parse(COUNTY).expect("the county code"));
        let system_actor = Actor::new(system.user_id, system.role, system.jurisdiction.clone());
        let mut plans = Vec::new();
        let summaries: Vec<&Summary> = households
            .iter()
            .filter_map(|p| p.household.as_ref())
            .collect();
        for (n, user) in self.world.users().into_iter().enumerate() {
            let stream =
                StreamRef::user(user.id, &user.jurisdiction).expect("a county user stream");
            let minute = u32::try_from(n % 60).unwrap_or(0);
            let at = china_time(registered, 9 + u32::try_from(n / 60).unwrap_or(0), minute);
            let meta = CommandMeta::new(
                demo_id(self.seed, &format!("{}/register", user_key(user))),
                &(
                    user.id,
                    user.name.as_str(),
                    user.role.code(),
                    user.jurisdiction.as_str(),
                ),
                "registerUser",
            );
            let mut ops = vec![Op {
                key: format!("{}/register", user_key(user)),
                stream: stream.clone(),
                meta,
                cmd: Cmd::User(Box::new(Command::new(
                    system_actor.clone(),
                    at,
                    RegisterUser {
                        user_id: user.id,
                        name: user.name.clone(),
                        role: user.role,
                        jurisdiction: user.jurisdiction.clone(),
                    },
                ))),
            }];
            let mut push = |label: String, cmd: Command<UserCommand>| {
                let key = format!("{}/{label}", user_key(user));
                ops.push(Op {
                    meta: CommandMeta::new(demo_id(self.seed, &key), &key, "demo"),
                    key,
                    stream: stream.clone(),
                    cmd: Cmd::User(Box::new(cmd)),
                });
            };
            if user.role == Role::Cadre {
                // 包村: the township's first village; 包户: its monitored households.
                let township = self
                    .world
                    .townships
                    .iter()
                    .find(|t| t.cadre.id == user.id)
                    .expect("the cadre's township");
                let village = &township.villages[0];
                push(
                    format!("assign:{}", village.code),
                    Command::new(
                        township.officer.actor(),
                        china_time(ymd(2022, 2, 14), 10, 0),
                        AssignCadre {
                            scope: CadreScope::Village,
                            target: village.code.as_str().to_owned(),
                            region: village.code.clone(),
                        },
                    ),
                );
                let mut covered: Vec<(NaiveDate, &Summary, &Village)> = Vec::new();
                for s in &summaries {
                    let Some(first) = s.approvals.first() else {
                        continue;
                    };
                    if let Some(v) = township
                        .villages
                        .iter()
                        .find(|v| v.code.as_str() == s.village)
                    {
                        covered.push((*first, s, v));
                    }
                }
                covered.sort_by_key(|(d, s, _)| (*d, s.id));
                for (day, s, v) in covered {
                    push(
                        format!("assign:{}", s.id),
                        Command::new(
                            township.officer.actor(),
                            china_time(days(day, 1), 11, 0),
                            AssignCadre {
                                scope: CadreScope::Household,
                                target: s.id.to_string(),
                                region: v.code.clone(),
                            },
                        ),
                    );
                }
            }
            if user.role == Role::SpotChecker {
                // A sample of monitored and ordinary households, granted by the county bureau.
                let mut sample: Vec<Uuid> = summaries
                    .iter()
                    .filter(|s| s.key.starts_with("case:c23-") || s.key.starts_with("case:x2"))
                    .step_by(3)
                    .map(|s| s.id)
                    .collect();
                sample.extend(
                    summaries
                        .iter()
                        .filter(|s| s.key.starts_with("hh:"))
                        .take(6)
                        .map(|s| s.id),
                );
                push(
                    "sample".to_owned(),
                    Command::new(
                        self.world.county.actor(),
                        china_time(self.ago(3), 10, 0),
                        GrantSample {
                            sample_id: demo_id(self.seed, "sample:2026"),
                            region: RegionCode::parse(COUNTY).expect("the county code"),
                            household_ids: sample,
                        },
                    ),
                );
            }
            plans.push(Plan {
                ops,
                household: None,
            });
        }
        plans
    }
}

fn user_key(user: &UserSpec) -> String {
    format!("user:{}:{}", user.role.code(), user.jurisdiction)
}

// ── one household's story ────────────────────────────────────────────────────────────────

/// A record dated for later, merged in date order with the steps written directly.
#[derive(Debug, Clone)]
enum Deferred {
    Income {
        window: YearMonth,
        per_capita_yuan: i64,
        note: &'static str,
    },
    Visit(VisitKind),
    Assess(LivingConditions),
    Tag(FocusGroup, String),
    Update {
        index: usize,
        health: Option<Health>,
        employment: Option<Employment>,
        note: String,
    },
    Birth(Box<MemberProfile>, NaiveDate),
    Death(Relation, NaiveDate),
    Progress(Uuid, u8, String),
    Complete(Uuid),
    Story(Box<Story>),
}

/// One alert's closed loop, as far as it has got.
#[derive(Debug, Clone)]
struct Story {
    label: String,
    source: AlertSource,
    department: Option<Department>,
    trigger: &'static str,
    text: String,
    severity: Severity,
    raised: NaiveDate,
    duplicate: Option<NaiveDate>,
    escalate: Option<NaiveDate>,
    feedback: Option<(NaiveDate, bool, String)>,
    study: Option<(NaiveDate, StudyDecision, Option<PlannedMeasure>, String)>,
    close: Option<NaiveDate>,
}

impl Story {
    fn new(
        label: &str,
        source: AlertSource,
        department: Option<Department>,
        raised: NaiveDate,
        rng: &mut Rng,
    ) -> Self {
        let (trigger, text, severity) = trigger_for(source, department, raised, rng);
        Self {
            label: label.to_owned(),
            source,
            department,
            trigger,
            text,
            severity,
            raised,
            duplicate: None,
            escalate: None,
            feedback: None,
            study: None,
            close: None,
        }
    }

    /// Found no risk: dismissed by the township and closed.
    fn dismissed(mut self, rng: &mut Rng) -> Self {
        let r = self.raised;
        self.feedback = Some((days(r, 1), false, rng.pick(&DISMISSAL_FINDINGS).to_owned()));
        self.study = Some((
            days(r, 3 + rng.between(0, 2)),
            StudyDecision::NoRiskDismissed,
            None,
            rng.pick(&DISMISSAL_REASONS).to_owned(),
        ));
        self.close = Some(days(r, 6));
        self
    }
}

const DISMISSAL_FINDINGS: [&str; 4] = [
    "经入户核实，医疗费用已通过基本医保、大病保险报销，家庭有稳定务工收入，无返贫风险",
    "经入户核实，家庭人均纯收入明显高于监测线，两不愁三保障及饮水安全均有保障",
    "经入户核实，该户子女均有稳定工作并按月赡养，生活无困难",
    "经入户核实，损失已由保险理赔，家庭收入未受明显影响",
];
const DISMISSAL_REASONS: [&str; 3] = [
    "经镇街研判，该户收入稳定、风险可控，予以排除，纳入网格日常走访",
    "经镇街研判，家庭刚性支出已消化，人均纯收入高于监测线，不符合纳入条件",
    "经镇街研判，无返贫致贫风险，予以排除；网格员持续关注",
];

fn trigger_for(
    source: AlertSource,
    department: Option<Department>,
    day: NaiveDate,
    rng: &mut Rng,
) -> (&'static str, String, Severity) {
    match (source, department) {
        (AlertSource::DepartmentData, Some(Department::MedicalInsurance)) => {
            let amount = rng.between(12, 68) * 1000;
            let severity = if amount > 30_000 {
                Severity::High
            } else {
                Severity::Medium
            };
            (
                "MEDICAL_OUT_OF_POCKET",
                format!("住院医疗费用个人自付{amount}元，超过预警线1万元"),
                severity,
            )
        }
        (AlertSource::DepartmentData, Some(Department::CivilAffairs)) => (
            "TEMPORARY_ASSISTANCE",
            "申请临时救助：家庭遭遇突发困难，基本生活受影响".to_owned(),
            Severity::Medium,
        ),
        (AlertSource::DepartmentData, Some(Department::Education)) => (
            "DROPOUT_RISK",
            "义务教育阶段学生连续缺课超过15天，存在辍学风险".to_owned(),
            Severity::Medium,
        ),
        (AlertSource::DepartmentData, Some(Department::Emergency)) => (
            "DISASTER_LOSS",
            format!(
                "{}年{}月冰雹灾害受灾名单：蔬菜大棚受损约{}亩",
                day.year(),
                day.month(),
                rng.between(2, 6)
            ),
            Severity::High,
        ),
        (AlertSource::DepartmentData, Some(Department::DisabledFederation)) => (
            "NEW_SEVERE_DISABILITY",
            "新办理残疾人证（二级，肢体）".to_owned(),
            Severity::Medium,
        ),
        (AlertSource::DepartmentData, Some(Department::Housing)) => (
            "UNSAFE_HOUSING",
            "农村房屋安全隐患排查鉴定为C级危房".to_owned(),
            Severity::Medium,
        ),
        (AlertSource::DepartmentData, _) => (
            "UNEMPLOYMENT",
            "办理失业登记，领取失业保险金".to_owned(),
            Severity::Low,
        ),
        (AlertSource::GridScreening, _) => (
            "GRID_INCOME_DROP",
            "网格员走访发现家庭主要劳动力受伤停工，收入明显下降".to_owned(),
            Severity::Medium,
        ),
        (AlertSource::SelfReport, _) => (
            "SELF_REPORT_12317",
            "农户拨打12317热线自主申报：家中老人住院，医疗费用负担较重".to_owned(),
            Severity::Medium,
        ),
        (AlertSource::CadreVisit, _) => (
            "CADRE_VISIT_FINDING",
            "包户干部双月走访发现户主慢性病加重，需长期服药，收入下降".to_owned(),
            Severity::Low,
        ),
        (AlertSource::Complaint, _) => (
            "COMPLAINT",
            "群众来信反映该户生活困难、未享受帮扶政策".to_owned(),
            Severity::Low,
        ),
    }
}

/// The department whose data first signals a risk.
fn department_of(risk: RiskType) -> Department {
    match risk {
        RiskType::Illness | RiskType::Accident => Department::MedicalInsurance,
        RiskType::Disability => Department::DisabledFederation,
        RiskType::Schooling => Department::Education,
        RiskType::Disaster => Department::Emergency,
        RiskType::Housing | RiskType::Water => Department::Housing,
        RiskType::UnstableWork | RiskType::FailedBusiness => Department::HumanResources,
        RiskType::LackOfLabour | RiskType::Other => Department::CivilAffairs,
    }
}

/// The measure that targets a risk: type, department, description, amount in yuan.
fn measure_for(risk: RiskType) -> (MeasureType, &'static str, &'static str, i64) {
    match risk {
        RiskType::Illness => (
            MeasureType::Medical,
            "区医疗保障局",
            "落实基本医保、大病保险、医疗救助三重保障，办理门诊慢特病",
            8000,
        ),
        RiskType::Disability => (
            MeasureType::SafetyNet,
            "区残疾人联合会",
            "发放困难残疾人生活补贴和重度残疾人护理补贴",
            2400,
        ),
        RiskType::Schooling => (
            MeasureType::Education,
            "区教育和体育局",
            "雨露计划职业教育补助，每学年3000元",
            3000,
        ),
        RiskType::Disaster => (
            MeasureType::Other,
            "区应急管理局",
            "发放受灾群众生活救助金，协调修复受损大棚",
            5000,
        ),
        RiskType::Accident => (
            MeasureType::SafetyNet,
            "区民政局",
            "实施临时救助，帮助渡过难关",
            4000,
        ),
        RiskType::FailedBusiness => (
            MeasureType::Finance,
            "区农业农村局",
            "发放脱贫人口小额信贷5万元，贴息支持恢复生产",
            50_000,
        ),
        RiskType::UnstableWork => (
            MeasureType::PublicWelfareJob,
            "区人力资源和社会保障局",
            "安排乡村公益性岗位（村内保洁），月工资600元",
            7200,
        ),
        RiskType::LackOfLabour => (
            MeasureType::SafetyNet,
            "区民政局",
            "纳入农村低保，按月发放低保金",
            6000,
        ),
        RiskType::Housing => (
            MeasureType::Housing,
            "区住房和城乡建设局",
            "实施农村危房改造，补助资金2万元",
            20_000,
        ),
        RiskType::Water => (
            MeasureType::Water,
            "区水利局",
            "接通村级供水管网，保障饮水安全",
            1500,
        ),
        RiskType::Other => (MeasureType::Other, "镇街道", "落实综合帮扶措施", 1000),
    }
}

fn split_income(total: i64, elderly: bool, rng: &mut Rng) -> IncomeComponents {
    if elderly {
        let transfer = total * 85 / 100;
        let business = total * 12 / 100;
        IncomeComponents {
            wage_fen: 0,
            business_fen: business,
            property_fen: total - transfer - business,
            transfer_fen: transfer,
        }
    } else {
        let wage = total * rng.between(50, 65) / 100;
        let business = total * rng.between(12, 25) / 100;
        let property = total * 2 / 100;
        IncomeComponents {
            wage_fen: wage,
            business_fen: business,
            property_fen: property,
            transfer_fen: total - wage - business - property,
        }
    }
}

const ROUTINE_FINDINGS: [&str; 6] = [
    "家庭成员身体状况良好，务工收入稳定，无新增困难",
    "宣传防止返贫政策明白纸，告知12317热线和网格员电话",
    "户主慢性病按时服药，家庭生活正常，无返贫风险",
    "子女上学情况正常，已落实教育资助政策",
    "查看居住条件，房屋安全，饮水正常",
    "了解家庭近期收支情况，种植收入较上年略有增长",
];
const CADRE_FINDINGS: [&str; 4] = [
    "查看上墙材料齐全；了解近况：帮扶措施落实到位，收入稳定增长；居住条件安全",
    "上墙材料已更新；户主身体恢复较好，公益岗位按时发放工资；房屋、饮水安全",
    "查看上墙材料；家庭成员务工稳定，医疗费用已按政策报销；未发现新问题",
    "上墙材料中收入台账未更新，已督促网格员整改；家庭生活正常",
];

/// Identification steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Applied,
    HomeVerified,
    DataCompared,
    Reviewed,
    NoticeOpen,
    NoticeClosed,
    TownshipApproved,
    Approved,
}

/// Removal steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RStep {
    Proposed,
    Verified,
    Reviewed,
    NoticeOpen,
    NoticeClosed,
    TownshipApproved,
    Approved,
}

struct Script<'g> {
    g: &'g Gen<'g>,
    key: String,
    id: Uuid,
    stream: StreamRef,
    township: &'g Township,
    village: &'g Village,
    rng: Rng,
    ops: Vec<Op>,
    labels: HashSet<String>,
    last: DateTime<Utc>,
    people: Vec<MemberProfile>,
    formerly_poor: bool,
    pending: Vec<(NaiveDate, u32, usize, Deferred)>,
    sequence: usize,
    /// Measures added: id, risk, completed.
    measures: Vec<(Uuid, RiskType, bool)>,
    tags: Vec<FocusGroup>,
    approvals: Vec<NaiveDate>,
    alerts: Vec<(Uuid, &'static str)>,
    stage: Option<&'static str>,
    problems: Vec<String>,
}

impl<'g> Script<'g> {
    fn new(
        g: &'g Gen<'g>,
        key: &str,
        place: (usize, usize),
        mut rng: Rng,
        family: &[Spec],
        ids: &mut HashSet<String>,
        formerly_poor: bool,
    ) -> Self {
        let (township, village) = g.world.village(place);
        let id = demo_id(g.seed, &format!("{key}/household"));
        let people = family
            .iter()
            .enumerate()
            .map(|(i, s)| {
                seal(
                    s,
                    demo_id(g.seed, &format!("{key}/member:{i}")),
                    &mut rng,
                    ids,
                    g.pii,
                )
            })
            .collect();
        Self {
            g,
            key: key.to_owned(),
            id,
            stream: StreamRef::in_county(StreamId::Household(id), COUNTY)
                .expect("a household stream"),
            township,
            village,
            rng,
            ops: Vec::new(),
            labels: HashSet::new(),
            last: DateTime::<Utc>::MIN_UTC,
            people,
            formerly_poor,
            pending: Vec::new(),
            sequence: 0,
            measures: Vec::new(),
            tags: Vec::new(),
            approvals: Vec::new(),
            alerts: Vec::new(),
            stage: None,
            problems: Vec::new(),
        }
    }

    fn gw(&self) -> &'g UserSpec {
        &self.village.grid_worker
    }

    fn secretary(&self) -> &'g UserSpec {
        &self.village.secretary
    }

    fn officer(&self) -> &'g UserSpec {
        &self.township.officer
    }

    fn cadre(&self) -> &'g UserSpec {
        &self.township.cadre
    }

    fn county(&self) -> &'g UserSpec {
        &self.g.world.county
    }

    fn head_name(&self) -> String {
        self.people
            .first()
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    fn attachment(&self, what: &str) -> AttachmentHash {
        attachment(self.g.seed, &format!("{}/{what}", self.key))
    }

    /// The business time of the next command: `day` at `hour` in China, and always after the
    /// household's previous command.
    fn at(&mut self, day: NaiveDate, hour: u32) -> DateTime<Utc> {
        let minute = u32::try_from(self.rng.below(50)).unwrap_or(0);
        let mut t = china_time(day, hour, minute);
        if t <= self.last {
            t = self.last + TimeDelta::minutes(3);
        }
        self.last = t;
        if t >= self.g.now {
            self.problems.push(format!(
                "{}: business time {t} is not in the past",
                self.key
            ));
        }
        t
    }

    fn label(&mut self, base: &str) -> String {
        if self.labels.insert(base.to_owned()) {
            return base.to_owned();
        }
        (2..)
            .map(|n| format!("{base}#{n}"))
            .find(|l| self.labels.insert(l.clone()))
            .unwrap_or_default()
    }

    fn push(&mut self, label: &str, stream: StreamRef, cmd: Cmd) {
        let key = format!("{}/{label}", self.key);
        self.ops.push(Op {
            meta: CommandMeta::new(demo_id(self.g.seed, &key), &key, "demo"),
            key,
            stream,
            cmd,
        });
    }

    /// A household command on `day`, after every deferred record dated before it. `build` gets
    /// the actor, the business time and a stable id for the record the command creates.
    fn hh(
        &mut self,
        base: &str,
        who: &'g UserSpec,
        day: NaiveDate,
        hour: u32,
        build: impl FnOnce(Actor, DateTime<Utc>, Uuid) -> Command<H>,
    ) -> Uuid {
        self.flush_before(day);
        self.hh_now(base, who, day, hour, build)
    }

    fn hh_now(
        &mut self,
        base: &str,
        who: &'g UserSpec,
        day: NaiveDate,
        hour: u32,
        build: impl FnOnce(Actor, DateTime<Utc>, Uuid) -> Command<H>,
    ) -> Uuid {
        let label = self.label(base);
        let rid = demo_id(self.g.seed, &format!("{}/{label}/id", self.key));
        let at = self.at(day, hour);
        let cmd = build(who.actor(), at, rid);
        let stream = self.stream.clone();
        self.push(&label, stream, Cmd::Household(Box::new(cmd)));
        rid
    }

    fn alert_now(
        &mut self,
        alert: Uuid,
        base: &str,
        who: &'g UserSpec,
        day: NaiveDate,
        hour: u32,
        build: impl FnOnce(Actor, DateTime<Utc>) -> Command<AlertCommand>,
    ) {
        let label = self.label(base);
        let at = self.at(day, hour);
        let cmd = build(who.actor(), at);
        let stream = StreamRef::in_county(StreamId::Alert(alert), COUNTY).expect("an alert stream");
        self.push(&label, stream, Cmd::Alert(Box::new(cmd)));
    }

    /// Records a deferred item; one dated today or later has not happened yet and is dropped.
    fn defer(&mut self, day: NaiveDate, hour: u32, item: Deferred) {
        if day >= self.g.today {
            return;
        }
        self.sequence += 1;
        self.pending.push((day, hour, self.sequence, item));
    }

    /// Writes every deferred record dated before `day`, oldest first.
    fn flush_before(&mut self, day: NaiveDate) {
        while let Some(i) = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, p)| p.0 < day)
            .min_by_key(|(_, p)| (p.0, p.1, p.2))
            .map(|(i, _)| i)
        {
            let (d, h, _, item) = self.pending.swap_remove(i);
            self.emit(d, h, item);
        }
    }

    fn emit(&mut self, day: NaiveDate, hour: u32, item: Deferred) {
        let gw = self.gw();
        match item {
            Deferred::Income {
                window,
                per_capita_yuan,
                note,
            } => self.income_now(day, hour, window, per_capita_yuan, note),
            Deferred::Visit(kind) => {
                self.visit_now(day, hour, kind, None);
            }
            Deferred::Assess(conditions) => {
                let who = if self.rng.chance(500) {
                    gw
                } else {
                    self.cadre()
                };
                let notes = if conditions == LivingConditions::ALL_SECURE {
                    "两不愁三保障及饮水安全均有保障"
                } else if !conditions.housing_secure {
                    "住房经鉴定为C级危房，正在实施改造"
                } else {
                    "部分保障尚未实现，已落实帮扶措施"
                };
                self.hh_now("assessment", who, day, hour, |actor, at, assessment_id| {
                    Command::new(
                        actor,
                        at,
                        AssessLivingConditions {
                            assessment_id,
                            conditions,
                            notes: notes.to_owned(),
                        },
                    )
                });
            }
            Deferred::Tag(group, reason) => {
                if !self.tags.contains(&group) {
                    self.tags.push(group);
                    self.hh_now(
                        &format!("tag:{}", group.code()),
                        gw,
                        day,
                        hour,
                        |actor, at, _| Command::new(actor, at, TagFocusGroup { group, reason }),
                    );
                }
            }
            Deferred::Update {
                index,
                health,
                employment,
                note,
            } => {
                let Some(mut member) = self.people.get(index).cloned() else {
                    return;
                };
                if let Some(h) = health {
                    member.health = h;
                    member.disability_level = (h == Health::Disabled).then_some(2);
                    if matches!(
                        member.labour,
                        LabourCapacity::Normal | LabourCapacity::Skilled
                    ) {
                        member.labour = LabourCapacity::Weak;
                    }
                }
                if let Some(e) = employment {
                    member.employment = e;
                }
                self.people[index] = member.clone();
                self.hh_now(&format!("update:{index}"), gw, day, hour, |actor, at, _| {
                    Command::new(actor, at, UpdateMember { member, note })
                });
            }
            Deferred::Birth(member, date) => {
                self.people.push((*member).clone());
                self.hh_now("birth", gw, day, hour, |actor, at, _| {
                    Command::new(
                        actor,
                        at,
                        AddMember {
                            member: *member,
                            reason: MemberChangeReason::Birth,
                            date,
                        },
                    )
                });
            }
            Deferred::Death(relation, date) => {
                let Some(i) = self.people.iter().position(|p| p.relation == relation) else {
                    return;
                };
                let member = self.people.remove(i);
                self.hh_now("death", gw, day, hour, |actor, at, _| {
                    Command::new(
                        actor,
                        at,
                        RemoveMember {
                            member_id: member.member_id,
                            reason: MemberChangeReason::Death,
                            date,
                        },
                    )
                });
            }
            Deferred::Progress(measure_id, percent, progress) => {
                let cadre = self.cadre();
                self.hh_now("measure-progress", cadre, day, hour, |actor, at, _| {
                    Command::new(
                        actor,
                        at,
                        RecordMeasureProgress {
                            measure_id,
                            progress,
                            percent,
                        },
                    )
                });
            }
            Deferred::Complete(measure_id) => {
                let cadre = self.cadre();
                self.hh_now("measure-complete", cadre, day, hour, |actor, at, _| {
                    Command::new(
                        actor,
                        at,
                        CompleteMeasure {
                            measure_id,
                            outcome: "措施落实完成，已达到预期帮扶效果".to_owned(),
                            completed_on: china_date(at),
                        },
                    )
                });
            }
            Deferred::Story(story) => {
                self.story_now(*story);
            }
        }
    }

    fn finish(mut self) -> (Plan, Vec<String>) {
        self.flush_before(NaiveDate::MAX);
        let summary = Summary {
            id: self.id,
            key: self.key.clone(),
            village: self.village.code.as_str().to_owned(),
            stage: self.stage,
            people: self.people.len(),
            tags: self.tags.clone(),
            approvals: self.approvals.clone(),
            alerts: self.alerts.clone(),
        };
        (
            Plan {
                ops: self.ops,
                household: Some(summary),
            },
            self.problems,
        )
    }

    // ── records ──────────────────────────────────────────────────────────────────────────

    fn register(&mut self, day: NaiveDate) {
        let gw = self.gw();
        let grid = GridId::parse(&format!(
            "{}-{}",
            self.village.code,
            1 + self.rng.below(self.village.grids as usize)
        ))
        .expect("a grid of the village");
        let address = format!(
            "淄博市临淄区{}{}{}号",
            self.township.name,
            self.village.name,
            self.rng.between(1, 420)
        );
        let (household_id, village, formerly_poor) =
            (self.id, self.village.code.clone(), self.formerly_poor);
        let head = self.people[0].clone();
        self.hh("register", gw, day, 9, |actor, at, _| {
            Command::new(
                actor,
                at,
                RegisterHousehold {
                    household_id,
                    village,
                    grid: Some(grid),
                    address,
                    formerly_poor,
                    head,
                },
            )
        });
        let others: Vec<MemberProfile> = self.people.iter().skip(1).cloned().collect();
        for member in others {
            self.hh_now("member", gw, day, 9, |actor, at, _| {
                Command::new(
                    actor,
                    at,
                    AddMember {
                        member,
                        reason: MemberChangeReason::Other,
                        date: day,
                    },
                )
            });
        }
    }

    fn income_now(
        &mut self,
        day: NaiveDate,
        hour: u32,
        window: YearMonth,
        per_capita_yuan: i64,
        note: &'static str,
    ) {
        let residents = self.people.iter().filter(|p| p.resident).count().max(1);
        let elderly = !self
            .people
            .iter()
            .any(|p| p.resident && p.labour.can_work());
        let total =
            per_capita_yuan * 100 * i64::try_from(residents).unwrap_or(1) + self.rng.between(0, 99);
        let components = split_income(total, elderly, &mut self.rng);
        let gw = self.gw();
        self.hh_now(
            &format!("income:{window}"),
            gw,
            day,
            hour,
            |actor, at, income_id| {
                Command::new(
                    actor,
                    at,
                    RecordIncome {
                        income_id,
                        window_end: window,
                        components,
                        notes: note.to_owned(),
                    },
                )
            },
        );
    }

    fn visit_now(
        &mut self,
        day: NaiveDate,
        hour: u32,
        kind: VisitKind,
        alert_id: Option<Uuid>,
    ) -> Option<Uuid> {
        let (who, findings) = match kind {
            VisitKind::RoutineGridVisit => (self.gw(), self.rng.pick(&ROUTINE_FINDINGS).to_owned()),
            VisitKind::CadreEvenMonthVisit => {
                (self.cadre(), self.rng.pick(&CADRE_FINDINGS).to_owned())
            }
            VisitKind::AlertVerification => (
                self.gw(),
                "接到预警后入户核实，了解家庭收支、就医和就业情况".to_owned(),
            ),
            VisitKind::RemovalVerification => (self.officer(), "风险消除入户核实".to_owned()),
        };
        // A cadre's round is in an even month: skip it if earlier steps pushed it out.
        if kind == VisitKind::CadreEvenMonthVisit
            && china_date(self.last.max(china_time(day, hour, 0))).month() % 2 == 1
        {
            return None;
        }
        let checklist = VisitChecklist {
            wall_materials_checked: kind == VisitKind::CadreEvenMonthVisit,
            situation_discussed: true,
            living_conditions_checked: true,
        };
        let attachments = if kind == VisitKind::RoutineGridVisit {
            vec![]
        } else {
            vec![self.attachment(&format!("visit-photo/{day}"))]
        };
        Some(self.hh_now(
            &format!("visit:{day}"),
            who,
            day,
            hour,
            |actor, at, visit_id| {
                Command::new(
                    actor,
                    at,
                    RecordVisit {
                        visit_id,
                        kind,
                        checklist,
                        findings,
                        attachments,
                        alert_id,
                    },
                )
            },
        ))
    }

    fn tag(&mut self, day: NaiveDate, group: FocusGroup, reason: String) {
        self.defer(day, 10, Deferred::Tag(group, reason));
    }

    // ── alerts ───────────────────────────────────────────────────────────────────────────

    fn story(&mut self, story: Story) -> Uuid {
        self.flush_before(story.raised);
        self.story_now(story)
    }

    fn story_now(&mut self, story: Story) -> Uuid {
        let alert_id = demo_id(self.g.seed, &format!("{}/alert:{}", self.key, story.label));
        let raiser = match story.source {
            AlertSource::DepartmentData | AlertSource::SelfReport => self.county(),
            AlertSource::GridScreening => self.gw(),
            AlertSource::CadreVisit => self.cadre(),
            AlertSource::Complaint => self.officer(),
        };
        let label = story.label.clone();
        let (policy, household_id, village) =
            (self.g.policy.clone(), self.id, self.village.code.clone());
        let (source, department, text) = (story.source, story.department, story.text.clone());
        self.alert_now(
            alert_id,
            &format!("alert:{label}:raise"),
            raiser,
            story.raised,
            9,
            |actor, at| {
                Command::new(
                    actor,
                    at,
                    RaiseAlert {
                        alert_id,
                        source,
                        department,
                        trigger_code: story.trigger.to_owned(),
                        trigger_text: text.clone(),
                        severity: story.severity,
                        household_id: Some(household_id),
                        village,
                    },
                )
                .under(policy)
            },
        );
        // The alert reactor links the alert to the file (LinkAlert) once the raise is in.
        self.alerts.push((alert_id, "AWAITING_FIRST_ROUND"));
        if let Some(day) = story.duplicate {
            self.alert_now(
                alert_id,
                &format!("alert:{label}:duplicate"),
                raiser,
                day,
                9,
                |actor, at| {
                    Command::new(
                        actor,
                        at,
                        ReportDuplicate {
                            source,
                            department,
                            trigger_text: format!("（重复推送）{text}"),
                        },
                    )
                },
            );
        }
        if let Some(day) = story.escalate {
            let officer = self.officer();
            self.alert_now(
                alert_id,
                &format!("alert:{label}:escalate"),
                officer,
                day,
                10,
                |actor, at| {
                    Command::new(
                        actor,
                        at,
                        EscalateAlert {
                            note: "首轮核实反馈已逾期，镇街督办".to_owned(),
                        },
                    )
                },
            );
        }
        if let Some((day, risk_confirmed, findings)) = story.feedback {
            let visit_id = self.visit_now(day, 9, VisitKind::AlertVerification, Some(alert_id));
            let (gw, photo) = (
                self.gw(),
                self.attachment(&format!("alert:{label}/feedback")),
            );
            self.alert_now(
                alert_id,
                &format!("alert:{label}:feedback"),
                gw,
                day,
                16,
                |actor, at| {
                    Command::new(
                        actor,
                        at,
                        RecordFirstRoundFeedback {
                            findings,
                            risk_confirmed,
                            visit_id,
                            attachments: vec![photo],
                        },
                    )
                },
            );
            self.set_alert(alert_id, "AWAITING_STUDY");
        }
        if let Some((day, decision, measure, reason)) = story.study.clone() {
            self.study_now(alert_id, &label, day, decision, measure, reason);
        }
        if let Some(day) = story.close {
            self.close_now(alert_id, &label, day);
        }
        self.settle_alert(alert_id, story.raised);
        alert_id
    }

    fn study_now(
        &mut self,
        alert_id: Uuid,
        label: &str,
        day: NaiveDate,
        decision: StudyDecision,
        measure: Option<PlannedMeasure>,
        reason: String,
    ) {
        let officer = self.officer();
        self.alert_now(
            alert_id,
            &format!("alert:{label}:study"),
            officer,
            day,
            15,
            |actor, at| {
                Command::new(
                    actor,
                    at,
                    RecordSecondRoundStudy {
                        decision,
                        measure,
                        reason,
                        application: None,
                    },
                )
            },
        );
        self.set_alert(alert_id, "STUDIED");
    }

    fn close_now(&mut self, alert_id: Uuid, label: &str, day: NaiveDate) {
        let officer = self.officer();
        self.alert_now(
            alert_id,
            &format!("alert:{label}:close"),
            officer,
            day,
            16,
            |actor, at| {
                Command::new(
                    actor,
                    at,
                    CloseAlert {
                        note: "研判结论已反馈村级，办结".to_owned(),
                    },
                )
            },
        );
        // The alert reactor closes it on the file (CloseLinkedAlert) once the close is in.
        self.set_alert(alert_id, "CLOSED");
    }

    /// Study and close later (e.g. after a rollback), in date order with the rest.
    fn study(
        &mut self,
        alert_id: Uuid,
        label: &str,
        day: NaiveDate,
        decision: StudyDecision,
        measure: Option<PlannedMeasure>,
        reason: &str,
    ) {
        self.flush_before(day);
        self.study_now(alert_id, label, day, decision, measure, reason.to_owned());
    }

    /// Closes the alert; the disposition on the file is the study's (the reactor takes it from
    /// the alert's `AlertClosed`).
    fn close(&mut self, alert_id: Uuid, label: &str, day: NaiveDate) {
        self.flush_before(day);
        self.close_now(alert_id, label, day);
        self.settle_alert(alert_id, day);
    }

    fn set_alert(&mut self, alert_id: Uuid, status: &'static str) {
        if let Some(entry) = self.alerts.iter_mut().find(|(id, _)| *id == alert_id) {
            entry.1 = status;
        }
    }

    /// Marks a round past its deadline (as of today) as overdue.
    fn settle_alert(&mut self, alert_id: Uuid, raised: NaiveDate) {
        let rules = self.g.policy.rules_in_force(raised);
        let first_due = days(raised, i64::from(rules.alert_first_round_days));
        let second_due = days(raised, i64::from(rules.alert_second_round_days));
        let today = self.g.today;
        if let Some(entry) = self.alerts.iter_mut().find(|(id, _)| *id == alert_id) {
            entry.1 = match entry.1 {
                "AWAITING_FIRST_ROUND" if today > first_due => "OVERDUE_FIRST_ROUND",
                "AWAITING_STUDY" if today > second_due => "OVERDUE_STUDY",
                other => other,
            };
        }
    }

    // ── identification ───────────────────────────────────────────────────────────────────

    fn apply_step(
        &mut self,
        apply: NaiveDate,
        clue: Option<(Uuid, NaiveDate)>,
        risks: &[RiskType],
    ) {
        let gw = self.gw();
        let policy = self.g.policy.clone();
        let statement = format!(
            "户主{}申请纳入防止返贫监测：{}，家庭收入下降、刚性支出增加",
            self.head_name(),
            risks
                .iter()
                .map(|r| r.label_zh())
                .collect::<Vec<_>>()
                .join("、")
        );
        let form = self.attachment("application-form");
        self.hh("apply", gw, apply, 10, |actor, at, application_id| {
            Command::new(
                actor,
                at,
                ApplyForMonitoring {
                    application_id,
                    signed_authorisation: true,
                    clue_found_on: clue.map(|c| c.1),
                    source_alert: clue.map(|c| c.0),
                    statement,
                    attachments: vec![form],
                },
            )
            .under(policy)
        });
    }

    fn home_step(&mut self, day: NaiveDate) {
        let (gw, officer) = (self.gw(), self.officer());
        let policy = self.g.policy.clone();
        let findings = format!(
            "村网格员与镇街工作人员2人入户核实：家庭成员{}人，核实收入、支出、住房和就医情况，情况属实",
            self.people.len()
        );
        let photo = self.attachment(&format!("home-verification/{day}"));
        self.hh("home-verification", gw, day, 15, |actor, at, _| {
            Command::new(
                actor,
                at,
                RecordVerification {
                    verifier_ids: vec![gw.id, officer.id],
                    findings,
                    attachments: vec![photo],
                    track: Inclusion,
                },
            )
            .under(policy)
        });
    }

    fn data_step(&mut self, day: NaiveDate, passed: bool) {
        let county = self.county();
        let (flags, notes) = if passed {
            (
                vec![],
                "经医保、民政、人社、住建、市场监管、车辆、不动产等部门数据比对，未发现不符合纳入条件的情形",
            )
        } else {
            (
                vec![
                    "家庭成员名下登记小型轿车1辆（购置价约12万元）".to_owned(),
                    "户主登记为个体工商户经营者".to_owned(),
                ],
                "部门数据比对发现不符合纳入条件的情形",
            )
        };
        self.hh("data-comparison", county, day, 11, |actor, at, _| {
            Command::new(
                actor,
                at,
                RecordDataComparison {
                    passed,
                    flags,
                    notes: notes.to_owned(),
                },
            )
        });
    }

    fn review_step(&mut self, day: NaiveDate, approve: bool) {
        let secretary = self.secretary();
        let attendees = u32::try_from(self.rng.between(15, 31)).unwrap_or(21);
        let minutes = if approve {
            format!(
                "村民代表会议民主评议：应到{attendees}人，实到{attendees}人，一致同意该户纳入监测对象"
            )
        } else {
            format!(
                "村民代表会议民主评议：实到{attendees}人，多数代表认为该户子女均有稳定工作、赡养能力较强，不同意纳入"
            )
        };
        let result = if approve {
            ReviewResult::Approve
        } else {
            ReviewResult::Reject
        };
        let file = self.attachment(&format!("review-minutes/{day}"));
        self.hh("democratic-review", secretary, day, 19, |actor, at, _| {
            Command::new(
                actor,
                at,
                RecordDemocraticReview {
                    minutes,
                    attendees,
                    result,
                    attachments: vec![file],
                    track: Inclusion,
                },
            )
        });
    }

    fn notice_step(&mut self, day: NaiveDate) {
        let secretary = self.secretary();
        let photo = self.attachment(&format!("notice/{day}"));
        self.hh("notice", secretary, day, 9, |actor, at, _| {
            Command::new(
                actor,
                at,
                StartPublicNotice {
                    start: day,
                    attachments: vec![photo],
                    track: Inclusion,
                },
            )
        });
    }

    /// An objection to the open notice and its re-verification.
    fn objection_steps(&mut self, day: NaiveDate, summary: &str, upheld: bool, findings: &str) {
        let (gw, officer) = (self.gw(), self.officer());
        let summary = summary.to_owned();
        let objection_id = self.hh("objection", gw, day, 10, |actor, at, objection_id| {
            Command::new(
                actor,
                at,
                RecordNoticeObjection {
                    objection_id,
                    summary,
                },
            )
        });
        let (findings, photo) = (
            findings.to_owned(),
            self.attachment(&format!("reverification/{day}")),
        );
        self.hh(
            "objection-reverification",
            officer,
            days(day, 2),
            15,
            |actor, at, _| {
                Command::new(
                    actor,
                    at,
                    RecordObjectionReverification {
                        objection_id,
                        findings,
                        upheld,
                        attachments: vec![photo],
                    },
                )
            },
        );
    }

    fn close_notice_step(&mut self, day: NaiveDate) {
        let secretary = self.secretary();
        let policy = self.g.policy.clone();
        self.hh("notice-close", secretary, day, 17, |actor, at, _| {
            Command::new(actor, at, CloseNotice { track: Inclusion }).under(policy)
        });
    }

    fn township_step(&mut self, day: NaiveDate, decision: TownshipDecision) {
        let officer = self.officer();
        let opinion = match decision {
            TownshipDecision::Approve => "经镇街审核，程序完备、材料齐全，符合纳入条件，同意上报",
            TownshipDecision::Return => {
                "入户核实记录缺少家庭成员务工收入佐证材料，退回村级重新核实"
            }
        };
        self.hh("township-review", officer, day, 10, |actor, at, _| {
            Command::new(
                actor,
                at,
                RecordTownshipReview {
                    decision,
                    opinion: opinion.to_owned(),
                    track: Inclusion,
                },
            )
        });
    }

    fn approve_step(&mut self, day: NaiveDate, category: Category, risks: &[RiskType]) {
        let county = self.county();
        let line = self.g.line_yuan(YearMonth::of(day));
        let baseline_per_capita_fen = (line - self.rng.between(800, 2600)) * 100;
        let risk_types = risks.to_vec();
        self.hh("approval", county, day, 15, |actor, at, episode_id| {
            Command::new(
                actor,
                at,
                ApproveInclusion {
                    episode_id,
                    category,
                    risk_types,
                    baseline_per_capita_fen,
                    opinion: format!("经区乡村振兴局审定，同意纳入{}监测", category.label_zh()),
                },
            )
        });
        self.approvals.push(day);
    }

    /// The identification procedure from the application on `apply` up to `until`; returns
    /// the day of county approval (when reached).
    fn identify(
        &mut self,
        apply: NaiveDate,
        clue: Option<(Uuid, NaiveDate)>,
        until: Step,
        category: Category,
        risks: &[RiskType],
        objection: bool,
    ) -> NaiveDate {
        self.apply_step(apply, clue, risks);
        if until >= Step::HomeVerified {
            self.home_step(days(apply, 1));
        }
        if until >= Step::DataCompared {
            self.data_step(days(apply, 3), true);
        }
        if until >= Step::Reviewed {
            self.review_step(days(apply, 5), true);
        }
        if until >= Step::NoticeOpen {
            self.notice_step(days(apply, 6));
        }
        if objection && until >= Step::NoticeClosed {
            self.objection_steps(
                days(apply, 7),
                "村民反映该户在城区有商品房一套",
                false,
                "经入户核实及不动产登记查询，该户无城区房产，异议不成立",
            );
        }
        if until >= Step::NoticeClosed {
            self.close_notice_step(days(apply, 11));
        }
        if until >= Step::TownshipApproved {
            self.township_step(days(apply, 12), TownshipDecision::Approve);
        }
        if until >= Step::Approved {
            self.approve_step(days(apply, 13), category, risks);
        }
        days(apply, 13)
    }

    /// A department (or screening) alert confirmed by the village and studied by the township,
    /// which starts identification; returns the alert and the day it was raised (the clue).
    fn alert_to_identification(
        &mut self,
        label: &str,
        study_day: NaiveDate,
        risk: RiskType,
        source: AlertSource,
    ) -> (Uuid, NaiveDate) {
        let raised = days(study_day, -2);
        let department = (source == AlertSource::DepartmentData).then(|| department_of(risk));
        let mut story = Story::new(label, source, department, raised, &mut self.rng);
        let (measure_type, _, description, _) = measure_for(risk);
        story.feedback = Some((
            days(raised, 1),
            true,
            "经入户核实，预警情况属实，家庭存在返贫致贫风险，建议启动识别程序".to_owned(),
        ));
        story.study = Some((
            study_day,
            StudyDecision::StartIdentification,
            Some(PlannedMeasure {
                measure_type,
                description: description.to_owned(),
            }),
            "经镇街研判，该户存在返贫致贫风险，启动识别纳入程序（一户一档一研究一措施）".to_owned(),
        ));
        let alert = self.story(story);
        (alert, raised)
    }

    // ── assistance and removal ───────────────────────────────────────────────────────────

    fn assist(
        &mut self,
        approved: NaiveDate,
        risks: &[RiskType],
        skip: Option<RiskType>,
        industry: bool,
    ) {
        let cadre = self.cadre();
        let summary = format!(
            "一户一策：针对{}风险，落实{}，确保家庭收入稳定增长",
            risks
                .iter()
                .map(|r| r.label_zh())
                .collect::<Vec<_>>()
                .join("、"),
            risks
                .iter()
                .map(|r| measure_for(*r).0.label_zh())
                .collect::<Vec<_>>()
                .join("、")
        );
        self.hh(
            "plan",
            cadre,
            days(approved, 2),
            10,
            |actor, at, plan_id| {
                Command::new(
                    actor,
                    at,
                    CreateAssistancePlan {
                        plan_id,
                        summary,
                        helper_user_id: Some(cadre.id),
                    },
                )
            },
        );
        let start = days(approved, 3);
        let mut added = Vec::new();
        for risk in risks.iter().copied().filter(|r| Some(*r) != skip) {
            let (measure_type, department, description, yuan) = measure_for(risk);
            let id = self.hh(
                &format!("measure:{}", risk.code()),
                cadre,
                start,
                11,
                |actor, at, measure_id| {
                    Command::new(
                        actor,
                        at,
                        AddMeasure {
                            measure_id,
                            measure_type,
                            department: department.to_owned(),
                            description: description.to_owned(),
                            amount_fen: yuan * 100,
                            start_date: start,
                            end_date: days(start, 365),
                            risk_types: vec![risk],
                        },
                    )
                },
            );
            added.push((id, risk, false));
        }
        if industry && let Some(first) = risks.first().copied() {
            let id = self.hh(
                "measure:industry",
                cadre,
                start,
                14,
                |actor, at, measure_id| {
                    Command::new(
                        actor,
                        at,
                        AddMeasure {
                            measure_id,
                            measure_type: MeasureType::Industry,
                            department: "区农业农村局".to_owned(),
                            description: "产业项目收益分红（村集体蔬菜大棚项目），每年800元"
                                .to_owned(),
                            amount_fen: 80_000,
                            start_date: start,
                            end_date: days(start, 365),
                            risk_types: vec![first],
                        },
                    )
                },
            );
            added.push((id, first, false));
        }
        if let Some((first, _, _)) = added.first() {
            self.defer(
                days(approved, 60),
                15,
                Deferred::Progress(*first, 50, "措施按计划推进，资金已拨付一半".to_owned()),
            );
        }
        self.measures.extend(added);
        let conditions = LivingConditions {
            housing_secure: !risks.contains(&RiskType::Housing),
            drinking_water_secure: !risks.contains(&RiskType::Water),
            ..LivingConditions::ALL_SECURE
        };
        self.defer(days(approved, 5), 15, Deferred::Assess(conditions));
    }

    /// Incomes from `from` to `last`: quarterly windows, then monthly for the last `monthly`
    /// months, each valued by `value(month)` (per capita, yuan).
    fn incomes(
        &mut self,
        from: YearMonth,
        last: YearMonth,
        monthly: u32,
        value: impl Fn(YearMonth) -> i64,
    ) {
        let monthly_from = add_months(last, 1 - i32::try_from(monthly).unwrap_or(1));
        let mut m = from;
        while m <= last {
            if m >= monthly_from || m.month().is_multiple_of(3) {
                self.defer(
                    m.last_day(),
                    16,
                    Deferred::Income {
                        window: m,
                        per_capita_yuan: value(m),
                        note: "按月核算家庭人均纯收入（12个月滚动）",
                    },
                );
            }
            m = m.next();
        }
    }

    /// The cadre's even-month rounds between two days (at most `max`, the latest ones).
    fn cadre_visits(&mut self, from: NaiveDate, to: NaiveDate, max: usize) {
        let mut m = YearMonth::of(to);
        let mut n = 0;
        while n < max && m > YearMonth::of(from) {
            if m.month().is_multiple_of(2) {
                let day = ymd(
                    m.year(),
                    m.month(),
                    10 + u32::try_from(self.rng.below(8)).unwrap_or(0),
                );
                if day > from && day < to {
                    self.defer(day, 10, Deferred::Visit(VisitKind::CadreEvenMonthVisit));
                    n += 1;
                }
            }
            m = m.previous();
        }
    }

    /// Measures completed and living conditions re-assessed before a removal on `p`.
    fn ready_for_removal(&mut self, p: NaiveDate) {
        for (id, _, done) in &mut self.measures {
            if !*done {
                *done = true;
                let id = *id;
                self.pending
                    .push((days(p, -12), 14, 0, Deferred::Complete(id)));
            }
        }
        self.defer(
            days(p, -8),
            15,
            Deferred::Assess(LivingConditions::ALL_SECURE),
        );
    }

    fn removal(&mut self, p: NaiveDate, until: RStep, objection: bool) {
        let (secretary, officer, county, gw, cadre) = (
            self.secretary(),
            self.officer(),
            self.county(),
            self.gw(),
            self.cadre(),
        );
        let policy = self.g.policy.clone();
        let p2 = policy.clone();
        self.hh("removal-proposal", secretary, p, 10, |actor, at, _| Command::new(actor, at, ProposeRemoval { reason: "家庭人均纯收入连续6个月以上稳定高于监测线，帮扶措施落实到位，两不愁三保障及饮水安全有保障".to_owned() }).under(p2));
        if until >= RStep::Verified {
            let (p2, photo) = (policy.clone(), self.attachment("removal-verification"));
            self.hh(
                "removal-verification",
                officer,
                days(p, 2),
                14,
                |actor, at, _| Command::new(actor, at, RecordVerification { verifier_ids: vec![gw.id, cadre.id], findings:
                        "入户核实：收入来源稳定，帮扶措施已见效，住房、饮水安全，同意启动风险消除"
                            .to_owned(), attachments: vec![photo], track: Removal }).under(p2),
            );
        }
        if until >= RStep::Reviewed {
            let attendees = u32::try_from(self.rng.between(15, 31)).unwrap_or(21);
            let file = self.attachment("removal-review-minutes");
            self.hh(
                "removal-review",
                secretary,
                days(p, 4),
                19,
                |actor, at, _| {
                    Command::new(
                        actor,
                        at,
                        RecordDemocraticReview {
                            minutes: format!(
                                "村民代表会议民主评议：实到{attendees}人，同意该户风险消除"
                            ),
                            attendees,
                            result: ReviewResult::Approve,
                            attachments: vec![file],
                            track: Removal,
                        },
                    )
                },
            );
        }
        if until >= RStep::NoticeOpen {
            let photo = self.attachment("removal-notice");
            let start = days(p, 5);
            self.hh("removal-notice", secretary, start, 9, |actor, at, _| {
                Command::new(
                    actor,
                    at,
                    StartPublicNotice {
                        start,
                        attachments: vec![photo],
                        track: Removal,
                    },
                )
            });
        }
        if objection {
            self.objection_steps(
                days(p, 6),
                "村民反映该户长子已辞工返乡，家庭收入下降",
                true,
                "经复核属实：长子所在企业停产，家庭务工收入不稳定，风险尚未消除",
            );
            self.hh(
                "removal-withdrawn",
                officer,
                days(p, 9),
                16,
                |actor, at, _| {
                    Command::new(
                        actor,
                        at,
                        WithdrawRemoval {
                            reason: "公示期异议经复核成立，终止风险消除程序，继续监测帮扶"
                                .to_owned(),
                        },
                    )
                },
            );
            return;
        }
        if until >= RStep::NoticeClosed {
            let p2 = policy.clone();
            self.hh(
                "removal-notice-close",
                secretary,
                days(p, 11),
                17,
                |actor, at, _| Command::new(actor, at, CloseNotice { track: Removal }).under(p2),
            );
        }
        if until >= RStep::TownshipApproved {
            self.hh(
                "removal-township-review",
                officer,
                days(p, 12),
                10,
                |actor, at, _| {
                    Command::new(
                        actor,
                        at,
                        RecordTownshipReview {
                            decision: TownshipDecision::Approve,
                            opinion: "经镇街审核，风险消除程序完备，同意上报".to_owned(),
                            track: Removal,
                        },
                    )
                },
            );
        }
        if until >= RStep::Approved {
            self.hh(
                "removal-approval",
                county,
                days(p, 13),
                15,
                |actor, at, _| {
                    Command::new(
                        actor,
                        at,
                        ApproveRemoval {
                            opinion: "经区乡村振兴局审定，同意风险消除，转入常规监测".to_owned(),
                        },
                    )
                    .under(policy)
                },
            );
        }
    }

    /// The shock that puts the household at risk, `before` days before the application.
    fn shock(&mut self, apply: NaiveDate, risks: &[RiskType]) {
        let day = days(apply, -12);
        let ill = if self.people.len() > 1 && self.rng.chance(400) {
            1
        } else {
            0
        };
        let name = self.people[ill].name.clone();
        for risk in risks {
            match risk {
                RiskType::Illness => {
                    let disease = self.rng.pick(&[
                        "脑梗",
                        "肺癌",
                        "尿毒症",
                        "冠心病",
                        "乳腺癌",
                        "股骨头坏死",
                    ]);
                    self.defer(
                        day,
                        11,
                        Deferred::Update {
                            index: ill,
                            health: Some(Health::SeriousIllness),
                            employment: None,
                            note: format!("确诊{disease}，住院治疗"),
                        },
                    );
                    self.tag(
                        days(day, 2),
                        FocusGroup::SuddenDifficulty,
                        format!("{name}确诊{disease}住院治疗，医疗支出大"),
                    );
                }
                RiskType::Accident => {
                    self.defer(
                        day,
                        11,
                        Deferred::Update {
                            index: 0,
                            health: Some(Health::SeriousIllness),
                            employment: Some(Employment::Unemployed),
                            note: "遭遇交通事故受伤，住院治疗，暂时无法务工".to_owned(),
                        },
                    );
                    self.tag(
                        days(day, 2),
                        FocusGroup::SuddenDifficulty,
                        format!("{}遭遇交通事故受伤", self.head_name()),
                    );
                }
                RiskType::Disaster => {
                    self.tag(
                        days(day, 2),
                        FocusGroup::SuddenDifficulty,
                        format!(
                            "{}年{}月遭受冰雹灾害，蔬菜大棚损毁",
                            day.year(),
                            day.month()
                        ),
                    );
                }
                RiskType::UnstableWork => {
                    self.defer(
                        day,
                        11,
                        Deferred::Update {
                            index: 0,
                            health: None,
                            employment: Some(Employment::Unemployed),
                            note: "务工企业减产停工，失业在家".to_owned(),
                        },
                    );
                }
                _ => {}
            }
        }
    }
}

/// Family shapes a risk implies, set before the members are sealed.
fn shape(family: &mut [Spec], risks: &[RiskType]) {
    if risks.contains(&RiskType::Disability) {
        let i = usize::from(family.len() > 1);
        family[i].health = Health::Disabled;
        family[i].disability = Some(2);
        family[i].labour = if i == 0 {
            LabourCapacity::Weak
        } else {
            LabourCapacity::Lost
        };
        if i > 0 {
            family[i].employment = Employment::NotApplicable;
        }
    }
    if risks.contains(&RiskType::Schooling)
        && let Some(child) = family.iter_mut().find(|s| {
            s.relation == Relation::Child
                && (15..=21).contains(&(REF_YEAR - i64::from(s.birth.year())))
        })
    {
        child.schooling = Schooling::Vocational;
        child.labour = LabourCapacity::None;
        child.employment = Employment::NotApplicable;
    }
    if risks.contains(&RiskType::LackOfLabour) {
        for s in family.iter_mut() {
            s.labour = LabourCapacity::Lost;
            s.employment = Employment::NotApplicable;
            if s.health == Health::Healthy {
                s.health = Health::Chronic;
            }
        }
    }
}

fn category_for(spec: &CaseSpec, rng: &mut Rng) -> Category {
    if spec.formerly_poor {
        Category::UnstableExPoor
    } else if spec
        .risks
        .iter()
        .any(|r| matches!(r, RiskType::Accident | RiskType::Disaster))
        || (spec.risks.contains(&RiskType::Illness) && rng.chance(300))
    {
        Category::SuddenSevere
    } else {
        Category::Marginal
    }
}

impl Script<'_> {
    /// Focus-group tags the household's situation at registration calls for.
    fn pre_tags(&mut self, registered: NaiveDate, risks: &[RiskType]) {
        let day = days(registered, 3);
        if risks.contains(&RiskType::Disability) {
            let i = usize::from(self.people.len() > 1);
            let reason = format!("家庭成员{}持二级残疾证（肢体）", self.people[i].name);
            self.tag(day, FocusGroup::KnownDifficulty, reason);
        }
        if risks.contains(&RiskType::LackOfLabour) {
            if self.people.len() == 1 {
                let age = REF_YEAR - i64::from(self.people[0].birth_date.year());
                self.tag(
                    day,
                    FocusGroup::ElderlyOrChild,
                    format!("独居老人（{age}岁），无劳动能力"),
                );
            } else {
                self.tag(
                    day,
                    FocusGroup::KnownDifficulty,
                    "老年户，家庭成员均无劳动能力".to_owned(),
                );
            }
        }
        if self.formerly_poor {
            self.tag(
                day,
                FocusGroup::KnownDifficulty,
                "脱贫户，过渡期内享受帮扶政策".to_owned(),
            );
        }
    }

    /// After county approval on `approved`: assistance, incomes, visits, and for some the
    /// removal procedure (or its aftermath).
    fn monitor(&mut self, fate: Fate, approved: NaiveDate, risks: &[RiskType]) {
        let g = self.g;
        let today = g.today;
        let last = g.last_month();
        let start = YearMonth::of(approved).next();
        let base = self.rng.between(900, 2200);
        let lift = self.rng.between(400, 2500);
        let below = move |m: YearMonth| g.line_yuan(m) - base;
        let above = move |m: YearMonth| g.line_yuan(m) + lift + i64::from(m.month()) * 15;
        match fate {
            Fate::Removed | Fate::RolledBack | Fate::ReIdentified => {
                let industry = self.rng.chance(500);
                self.assist(approved, risks, None, industry);
                let rise = add_months(start, 2);
                self.incomes(start, add_months(start, 8), 9, |m| {
                    if m < rise { below(m) } else { above(m) }
                });
                let p = days(add_months(YearMonth::of(approved), 10).first_day(), 4);
                self.cadre_visits(approved, p, 3);
                self.ready_for_removal(p);
                self.removal(p, RStep::Approved, false);
                let removed = days(p, 13);
                match fate {
                    Fate::Removed => {
                        for year in removed.year()..=2025 {
                            let window = YearMonth::new(year, 12).expect("December");
                            let day = days(ymd(year + 1, 1, 6), self.rng.between(0, 20));
                            self.defer(
                                day,
                                10,
                                Deferred::Income {
                                    window,
                                    per_capita_yuan: above(window) + 600,
                                    note: ANNUAL_NOTE,
                                },
                            );
                        }
                        let visit = g.ago(self.rng.between(10, 120));
                        self.defer(visit, 10, Deferred::Visit(VisitKind::RoutineGridVisit));
                    }
                    Fate::RolledBack => self.relapse_and_rollback(removed, below),
                    _ => self.relapse_and_reidentify(removed, below, above),
                }
            }
            Fate::TooShort => {
                self.assist(approved, risks, None, false);
                self.incomes(start, last, 3, below);
            }
            _ => {
                let skip = (fate == Fate::RiskWithoutMeasure)
                    .then(|| risks.last().copied())
                    .flatten();
                self.assist(approved, risks, skip, fate == Fate::Eligible);
                let rise = add_months(start, 3);
                let proposal = match fate {
                    Fate::RemovalProposed => Some(g.ago(3)),
                    Fate::RemovalNoticeOpen => Some(g.ago(10)),
                    Fate::RemovalTownshipApproved => Some(g.ago(20)),
                    Fate::RemovalWithdrawn => Some(g.ago(26)),
                    _ => None,
                };
                let recent_rise = add_months(last, -1);
                match fate {
                    Fate::BelowLine => self.incomes(start, last, 9, |m| {
                        if m >= recent_rise { above(m) } else { below(m) }
                    }),
                    Fate::RemovalWithdrawn => {
                        let p = proposal.unwrap_or(today);
                        self.incomes(start, last, 9, |m| {
                            if m.last_day() >= p || m < rise {
                                below(m)
                            } else {
                                above(m)
                            }
                        });
                    }
                    _ => self.incomes(
                        start,
                        last,
                        9,
                        |m| if m < rise { below(m) } else { above(m) },
                    ),
                }
                if fate == Fate::HousingInsecure {
                    if let Some((id, _, _)) = self
                        .measures
                        .iter()
                        .find(|(_, r, _)| *r == RiskType::Housing)
                        .copied()
                    {
                        self.defer(
                            g.ago(25),
                            14,
                            Deferred::Progress(id, 60, "危房改造主体完工，待验收".to_owned()),
                        );
                    }
                    let conditions = LivingConditions {
                        housing_secure: false,
                        ..LivingConditions::ALL_SECURE
                    };
                    self.defer(g.ago(30), 15, Deferred::Assess(conditions));
                } else {
                    self.defer(
                        g.ago(40),
                        15,
                        Deferred::Assess(LivingConditions::ALL_SECURE),
                    );
                }
                self.cadre_visits(approved, today, 4);
                let visit = g.ago(self.rng.between(4, 50));
                self.defer(visit, 10, Deferred::Visit(VisitKind::RoutineGridVisit));
                if fate == Fate::OpenAlert {
                    let raised = g.ago(20);
                    let mut story = Story::new(
                        "medical",
                        AlertSource::DepartmentData,
                        Some(Department::MedicalInsurance),
                        raised,
                        &mut self.rng,
                    );
                    story.feedback = Some((
                        days(raised, 2),
                        true,
                        "经入户核实，户主复查住院，自付费用较高，需调整帮扶措施".to_owned(),
                    ));
                    story.study = Some((
                        days(raised, 5),
                        StudyDecision::AlreadyMonitoredAdjustMeasures,
                        Some(PlannedMeasure {
                            measure_type: MeasureType::Medical,
                            description: "申请医疗救助，落实家庭医生签约服务".to_owned(),
                        }),
                        "已是监测对象，调整帮扶措施后跟踪复核".to_owned(),
                    ));
                    self.defer(raised, 9, Deferred::Story(Box::new(story)));
                }
                if let Some(p) = proposal {
                    self.ready_for_removal(p);
                    let until = match fate {
                        Fate::RemovalProposed => RStep::Proposed,
                        Fate::RemovalTownshipApproved => RStep::TownshipApproved,
                        _ => RStep::NoticeOpen,
                    };
                    self.removal(p, until, fate == Fate::RemovalWithdrawn);
                    if fate == Fate::RemovalWithdrawn {
                        let index = self
                            .people
                            .iter()
                            .position(|m| m.relation == Relation::Child)
                            .unwrap_or(0);
                        self.defer(
                            days(p, 10),
                            10,
                            Deferred::Update {
                                index,
                                health: None,
                                employment: Some(Employment::Unemployed),
                                note: "所在企业停产，辞工返乡".to_owned(),
                            },
                        );
                    }
                }
            }
        }
    }

    /// A medical alert a few months after removal; the county rolls the removal back and the
    /// township adjusts the measures.
    fn relapse_and_rollback(&mut self, removed: NaiveDate, below: impl Fn(YearMonth) -> i64) {
        let g = self.g;
        let raised = ymd(removed.year() + 1, 2, 17);
        let mut story = Story::new(
            "relapse",
            AlertSource::DepartmentData,
            Some(Department::MedicalInsurance),
            raised,
            &mut self.rng,
        );
        story.feedback = Some((
            days(raised, 2),
            true,
            "经入户核实，家庭成员突发疾病住院，医疗支出大、收入下降，返贫风险未消除".to_owned(),
        ));
        let alert = self.story(story);
        let county = self.county();
        self.hh("rollback", county, days(raised, 9), 15, |actor, at, _| Command::new(actor, at, RollbackRemoval { reason: "风险消除后回访发现家庭成员突发疾病住院，医保自付费用高，风险未稳定消除，回退至监测帮扶".to_owned() }));
        self.study(
            alert,
            "relapse",
            days(raised, 10),
            StudyDecision::AlreadyMonitoredAdjustMeasures,
            Some(PlannedMeasure {
                measure_type: MeasureType::Medical,
                description: "落实医疗救助和家庭医生签约服务".to_owned(),
            }),
            "已回退为监测对象，调整帮扶措施",
        );
        let cadre = self.cadre();
        let start = days(raised, 14);
        let id = self.hh(
            "measure:relapse",
            cadre,
            start,
            11,
            |actor, at, measure_id| {
                Command::new(
                    actor,
                    at,
                    AddMeasure {
                        measure_id,
                        measure_type: MeasureType::Medical,
                        department: "区医疗保障局".to_owned(),
                        description: "医疗救助（二次救助）+家庭医生签约服务".to_owned(),
                        amount_fen: 1_200_000,
                        start_date: start,
                        end_date: days(start, 365),
                        risk_types: vec![RiskType::Illness],
                    },
                )
            },
        );
        self.measures.push((id, RiskType::Illness, false));
        self.close(alert, "relapse", days(raised, 16));
        let last = g.last_month();
        self.incomes(add_months(last, -5), last, 6, below);
        self.defer(
            g.ago(60),
            15,
            Deferred::Assess(LivingConditions::ALL_SECURE),
        );
        self.cadre_visits(days(raised, 20), g.today, 3);
    }

    /// A relapse after removal that re-enters through full identification: a second episode.
    fn relapse_and_reidentify(
        &mut self,
        removed: NaiveDate,
        below: impl Fn(YearMonth) -> i64,
        above: impl Fn(YearMonth) -> i64,
    ) {
        let g = self.g;
        let study_day = ymd(removed.year() + 1, 5, 14);
        self.defer(
            days(study_day, -9),
            11,
            Deferred::Update {
                index: 0,
                health: Some(Health::SeriousIllness),
                employment: None,
                note: "再次住院治疗，病情反复".to_owned(),
            },
        );
        let clue = self.alert_to_identification(
            "relapse",
            study_day,
            RiskType::Illness,
            AlertSource::DepartmentData,
        );
        let category = if self.formerly_poor {
            Category::UnstableExPoor
        } else {
            Category::Marginal
        };
        let approved = self.identify(
            study_day,
            Some(clue),
            Step::Approved,
            category,
            &[RiskType::Illness],
            false,
        );
        self.close(clue.0, "relapse", days(approved, 1));
        self.assist(approved, &[RiskType::Illness], None, false);
        let last = g.last_month();
        let rise = add_months(last, -3);
        self.incomes(YearMonth::of(approved).next(), last, 7, |m| {
            if m < rise { below(m) } else { above(m) }
        });
        self.defer(
            g.ago(45),
            15,
            Deferred::Assess(LivingConditions::ALL_SECURE),
        );
        self.cadre_visits(approved, g.today, 3);
    }
}

const ANNUAL_NOTE: &str = "年度家庭收入信息采集";

/// Days before the load on which a case dated relative to it applies.
fn relative_apply(g: &Gen, fate: Fate) -> NaiveDate {
    g.ago(match fate {
        Fate::Applied => 2,
        Fate::HomeVerified => 3,
        Fate::DataCompared => 5,
        Fate::ReviewApproved => 7,
        Fate::NoticeOpen => 8,
        Fate::NoticeClosed => 13,
        Fate::TownshipApproved => 14,
        Fate::Returned => 15,
        Fate::IdentificationOverdue => 25,
        Fate::GreenChannel => 5,
        Fate::GreenChannelOverdue => 50,
        Fate::TooShort => 70,
        _ => 300,
    })
}

/// A monitored-household case.
fn case(g: &Gen, spec: &CaseSpec, ids: &mut HashSet<String>) -> (Plan, Vec<String>) {
    let mut rng = Rng::keyed(g.seed, &spec.key);
    let mut members = family(&mut rng, spec.size, spec.kind);
    shape(&mut members, &spec.risks);
    let registered = days(ymd(2022, 3, 1), rng.between(0, 240));
    let category = category_for(spec, &mut rng);
    let mut s = Script::new(
        g,
        &spec.key,
        spec.village,
        rng,
        &members,
        ids,
        spec.formerly_poor,
    );
    s.stage = Some(spec.fate.stage());
    s.register(registered);
    s.pre_tags(registered, &spec.risks);
    let apply = spec
        .apply_on
        .unwrap_or_else(|| relative_apply(g, spec.fate));
    let prior = YearMonth::new(apply.year() - 1, 12).expect("December");
    if prior.year() >= 2023 {
        let day = days(ymd(apply.year(), 1, 6), s.rng.between(0, 14));
        let per_capita_yuan = g.line_yuan(prior) + s.rng.between(600, 3000);
        s.defer(
            day,
            10,
            Deferred::Income {
                window: prior,
                per_capita_yuan,
                note: ANNUAL_NOTE,
            },
        );
    }
    s.shock(apply, &spec.risks);
    let risks = spec.risks.clone();
    let first = risks[0];
    let clue = spec.via_alert.then(|| {
        let source = if first == RiskType::Accident {
            AlertSource::GridScreening
        } else {
            AlertSource::DepartmentData
        };
        s.alert_to_identification("clue", apply, first, source)
    });
    match spec.fate {
        Fate::Applied
        | Fate::HomeVerified
        | Fate::DataCompared
        | Fate::ReviewApproved
        | Fate::NoticeOpen
        | Fate::NoticeClosed
        | Fate::TownshipApproved
        | Fate::IdentificationOverdue => {
            let until = match spec.fate {
                Fate::Applied => Step::Applied,
                Fate::HomeVerified => Step::HomeVerified,
                Fate::DataCompared | Fate::IdentificationOverdue => Step::DataCompared,
                Fate::ReviewApproved => Step::Reviewed,
                Fate::NoticeOpen => Step::NoticeOpen,
                Fate::NoticeClosed => Step::NoticeClosed,
                _ => Step::TownshipApproved,
            };
            s.identify(
                apply,
                clue,
                until,
                category,
                &risks,
                spec.fate == Fate::NoticeClosed,
            );
        }
        Fate::Returned => {
            s.identify(apply, clue, Step::NoticeClosed, category, &risks, false);
            s.township_step(days(apply, 12), TownshipDecision::Return);
        }
        Fate::GreenChannel | Fate::GreenChannelOverdue => {
            s.identify(apply, clue, Step::Applied, category, &risks, false);
            let (officer, policy) = (s.officer(), g.policy.clone());
            s.hh("green-channel", officer, apply, 16, |actor, at, _| {
                Command::new(
                    actor,
                    at,
                    OpenGreenChannel {
                        risk_type: first,
                        reason: "突发事故（灾害）造成家庭严重困难，先行帮扶、后补认定程序"
                            .to_owned(),
                    },
                )
                .under(policy)
            });
            s.assist(days(apply, -1), &[first], None, false);
            s.home_step(days(apply, 3));
            if let (Fate::GreenChannelOverdue, Some((alert, _))) = (spec.fate, clue) {
                s.close(alert, "clue", days(apply, 4));
            }
        }
        Fate::RejectedByComparison => {
            s.identify(apply, clue, Step::HomeVerified, category, &risks, false);
            s.data_step(days(apply, 3), false);
            let county = s.county();
            s.hh("rejection", county, days(apply, 5), 15, |actor, at, _| {
                Command::new(
                    actor,
                    at,
                    RejectInclusion {
                        reason:
                            "信息比对发现家庭成员名下有小型轿车1辆及个体工商户登记，不符合纳入条件"
                                .to_owned(),
                    },
                )
            });
        }
        Fate::RejectedByReview => {
            s.identify(apply, clue, Step::DataCompared, category, &risks, false);
            s.review_step(days(apply, 5), false);
            let officer = s.officer();
            s.hh("rejection", officer, days(apply, 7), 15, |actor, at, _| {
                Command::new(
                    actor,
                    at,
                    RejectInclusion {
                        reason: "民主评议未通过：子女赡养能力较强，家庭不存在返贫致贫风险"
                            .to_owned(),
                    },
                )
            });
        }
        fate => {
            let approved = s.identify(apply, clue, Step::Approved, category, &risks, false);
            if let Some((alert, _)) = clue {
                s.close(alert, "clue", days(approved, 1));
            }
            s.monitor(fate, approved, &risks);
        }
    }
    s.finish()
}

/// How the ten first ordinary households' alerts stand (the open and overdue queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Fresh,
    OverdueFirstRound,
    AwaitingStudy,
    OverdueStudy,
    Studied,
    Closed,
}

struct Special {
    shape: Shape,
    source: AlertSource,
    department: Option<Department>,
    raised_ago: i64,
    demo_village: bool,
    escalate: bool,
    duplicate: bool,
}

const SPECIAL: [Special; 10] = [
    Special {
        shape: Shape::Fresh,
        source: AlertSource::DepartmentData,
        department: Some(Department::MedicalInsurance),
        raised_ago: 1,
        demo_village: true,
        escalate: false,
        duplicate: false,
    },
    Special {
        shape: Shape::Fresh,
        source: AlertSource::DepartmentData,
        department: Some(Department::HumanResources),
        raised_ago: 2,
        demo_village: false,
        escalate: false,
        duplicate: false,
    },
    Special {
        shape: Shape::OverdueFirstRound,
        source: AlertSource::DepartmentData,
        department: Some(Department::MedicalInsurance),
        raised_ago: 9,
        demo_village: true,
        escalate: true,
        duplicate: false,
    },
    Special {
        shape: Shape::OverdueFirstRound,
        source: AlertSource::DepartmentData,
        department: Some(Department::DisabledFederation),
        raised_ago: 12,
        demo_village: false,
        escalate: false,
        duplicate: false,
    },
    Special {
        shape: Shape::OverdueFirstRound,
        source: AlertSource::DepartmentData,
        department: Some(Department::Education),
        raised_ago: 20,
        demo_village: false,
        escalate: false,
        duplicate: true,
    },
    Special {
        shape: Shape::AwaitingStudy,
        source: AlertSource::DepartmentData,
        department: Some(Department::Housing),
        raised_ago: 3,
        demo_village: true,
        escalate: false,
        duplicate: false,
    },
    Special {
        shape: Shape::OverdueStudy,
        source: AlertSource::DepartmentData,
        department: Some(Department::CivilAffairs),
        raised_ago: 11,
        demo_village: false,
        escalate: false,
        duplicate: false,
    },
    Special {
        shape: Shape::Studied,
        source: AlertSource::SelfReport,
        department: None,
        raised_ago: 6,
        demo_village: true,
        escalate: false,
        duplicate: false,
    },
    Special {
        shape: Shape::Fresh,
        source: AlertSource::CadreVisit,
        department: None,
        raised_ago: 2,
        demo_village: false,
        escalate: false,
        duplicate: false,
    },
    Special {
        shape: Shape::Closed,
        source: AlertSource::Complaint,
        department: None,
        raised_ago: 30,
        demo_village: false,
        escalate: false,
        duplicate: false,
    },
];

fn random_department(rng: &mut Rng) -> (AlertSource, Option<Department>) {
    const DEPARTMENTS: [Department; 7] = [
        Department::MedicalInsurance,
        Department::CivilAffairs,
        Department::Education,
        Department::Emergency,
        Department::DisabledFederation,
        Department::Housing,
        Department::HumanResources,
    ];
    match rng.weighted(&[85, 15]) {
        0 => (
            AlertSource::DepartmentData,
            Some(DEPARTMENTS[rng.weighted(&[50, 12, 8, 8, 6, 8, 8])]),
        ),
        _ => (
            rng.pick(&[
                AlertSource::GridScreening,
                AlertSource::SelfReport,
                AlertSource::CadreVisit,
                AlertSource::Complaint,
            ]),
            None,
        ),
    }
}

/// An ordinary household: members, tags, incomes, visits, sometimes an alert.
fn ordinary(g: &Gen, index: usize, ids: &mut HashSet<String>) -> (Plan, Vec<String>) {
    let key = format!("hh:{index}");
    let mut rng = Rng::keyed(g.seed, &key);
    let special = SPECIAL.get(index);
    let village = match special {
        Some(sp) if sp.demo_village => DEMO_VILLAGE,
        _ => g.world.random_village(&mut rng),
    };
    let kind = [
        Kind::Ordinary,
        Kind::ElderlyAlone,
        Kind::ElderlyCouple,
        Kind::LeftBehind,
    ][rng.weighted(&[870, 40, 60, 30])];
    let n = match kind {
        Kind::Ordinary => 1 + rng.weighted(&[6, 26, 26, 22, 13, 7]),
        Kind::ElderlyAlone => 1,
        Kind::ElderlyCouple => 2,
        _ => 3 + rng.below(3),
    };
    let mut members = family(&mut rng, n, kind);
    let known = match kind {
        Kind::Ordinary if rng.chance(55) => {
            if rng.chance(500) {
                members[0].safety_net = SafetyNet::Dibao;
                Some(format!(
                    "农村低保户（{}年起享受低保）",
                    rng.between(2016, 2021)
                ))
            } else {
                let i = rng.below(members.len());
                let level = 1 + u8::try_from(rng.below(2)).unwrap_or(0);
                let m = &mut members[i];
                m.health = Health::Disabled;
                m.disability = Some(level);
                m.labour = if i == 0 {
                    LabourCapacity::Weak
                } else {
                    LabourCapacity::Lost
                };
                Some(format!("家庭成员{}持{level}级残疾证", m.name))
            }
        }
        Kind::ElderlyAlone if rng.chance(300) => {
            members[0].safety_net = SafetyNet::Tekun;
            Some("农村特困供养人员（分散供养）".to_owned())
        }
        _ => None,
    };
    let head_age = REF_YEAR - i64::from(members[0].birth.year());
    let elderly_or_child = match kind {
        Kind::ElderlyAlone => Some(format!("独居老人（{head_age}岁），子女不在身边")),
        Kind::LeftBehind => members
            .iter()
            .find(|m| m.relation == Relation::Grandchild)
            .map(|c| format!("留守儿童{}，父母在外务工，由祖父母照料", c.name)),
        _ => None,
    };
    let surname: String = members[0].name.chars().take(1).collect();
    let formerly_poor = rng.chance(40);
    let registered = days(ymd(2022, 3, 1), rng.between(0, 270));
    let mut s = Script::new(g, &key, village, rng, &members, ids, formerly_poor);
    s.register(registered);
    let low_income = known.is_some();
    if let Some(reason) = known {
        s.tag(days(registered, 3), FocusGroup::KnownDifficulty, reason);
    }
    if let Some(reason) = elderly_or_child {
        s.tag(days(registered, 3), FocusGroup::ElderlyOrChild, reason);
    }
    if kind == Kind::Ordinary && s.rng.chance(25) {
        let day = days(ymd(2024, 2, 1), s.rng.between(0, 880));
        let (story, raised) = match s.rng.below(3) {
            0 => {
                let index = if s.people.len() > 1 && s.rng.chance(400) {
                    1
                } else {
                    0
                };
                let name = s.people[index].name.clone();
                s.defer(
                    day,
                    11,
                    Deferred::Update {
                        index,
                        health: Some(Health::SeriousIllness),
                        employment: None,
                        note: "确诊重病，住院治疗".to_owned(),
                    },
                );
                s.tag(
                    days(day, 2),
                    FocusGroup::SuddenDifficulty,
                    format!("{name}确诊重病住院，医疗支出较大"),
                );
                let raised = days(day, 20);
                (
                    Story::new(
                        "sudden",
                        AlertSource::DepartmentData,
                        Some(Department::MedicalInsurance),
                        raised,
                        &mut s.rng,
                    ),
                    raised,
                )
            }
            1 => {
                let name = s.head_name();
                s.defer(
                    day,
                    11,
                    Deferred::Update {
                        index: 0,
                        health: Some(Health::SeriousIllness),
                        employment: None,
                        note: "遭遇交通事故受伤".to_owned(),
                    },
                );
                s.tag(
                    days(day, 2),
                    FocusGroup::SuddenDifficulty,
                    format!("{name}遭遇交通事故受伤住院"),
                );
                let raised = days(day, 5);
                (
                    Story::new(
                        "sudden",
                        AlertSource::GridScreening,
                        None,
                        raised,
                        &mut s.rng,
                    ),
                    raised,
                )
            }
            _ => {
                s.tag(
                    days(day, 2),
                    FocusGroup::SuddenDifficulty,
                    format!(
                        "{}年{}月遭受冰雹灾害，蔬菜大棚受损",
                        day.year(),
                        day.month()
                    ),
                );
                let raised = days(day, 3);
                (
                    Story::new(
                        "sudden",
                        AlertSource::DepartmentData,
                        Some(Department::Emergency),
                        raised,
                        &mut s.rng,
                    ),
                    raised,
                )
            }
        };
        let story = story.dismissed(&mut s.rng);
        s.defer(raised, 9, Deferred::Story(Box::new(story)));
    }
    if kind == Kind::Ordinary && head_age <= 36 && n <= 5 && s.rng.chance(200) {
        let born = days(ymd(2024, 1, 10), s.rng.between(0, 700));
        let male = s.rng.chance(520);
        let child = spec_born(&mut s.rng, Relation::Child, born, male, &surname);
        let profile = seal(
            &child,
            demo_id(g.seed, &format!("{key}/member:born")),
            &mut s.rng,
            ids,
            g.pii,
        );
        let day = days(born, s.rng.between(30, 75));
        s.defer(day, 10, Deferred::Birth(Box::new(profile), born));
    }
    if kind == Kind::ElderlyCouple && s.rng.chance(60) {
        let died = days(ymd(2024, 3, 1), s.rng.between(0, 800));
        let day = days(died, s.rng.between(3, 20));
        s.defer(day, 10, Deferred::Death(Relation::Spouse, died));
    }
    if s.rng.chance(650) {
        let base = match kind {
            Kind::Ordinary | Kind::Working if low_income => s.rng.between(7800, 11_000),
            Kind::Ordinary | Kind::Working => s.rng.between(15_000, 36_000),
            Kind::ElderlyAlone | Kind::ElderlyCouple => s.rng.between(8500, 14_000),
            Kind::LeftBehind => s.rng.between(12_000, 20_000),
        };
        let growth = s.rng.between(2, 8);
        let with_2023 = s.rng.chance(350);
        for year in 2023..=2025 {
            if year == 2023 && !with_2023 {
                continue;
            }
            let per_capita_yuan = base * (100 + growth * i64::from(year - 2023)) / 100;
            let window = YearMonth::new(year, 12).expect("December");
            let day = days(ymd(year + 1, 1, 6), s.rng.between(0, 45));
            s.defer(
                day,
                10,
                Deferred::Income {
                    window,
                    per_capita_yuan,
                    note: ANNUAL_NOTE,
                },
            );
        }
    }
    if s.rng.chance(500) {
        let day = g.ago(s.rng.between(2, 150));
        s.defer(day, 10, Deferred::Visit(VisitKind::RoutineGridVisit));
    }
    if s.rng.chance(120) {
        let day = days(ymd(2025, 3, 1), s.rng.between(0, 240));
        s.defer(day, 15, Deferred::Assess(LivingConditions::ALL_SECURE));
    }
    if let Some(sp) = special {
        let raised = g.ago(sp.raised_ago);
        let mut story = Story::new("queue", sp.source, sp.department, raised, &mut s.rng);
        story.duplicate = sp.duplicate.then(|| days(raised, 2));
        story.escalate = sp.escalate.then(|| days(raised, 4));
        match sp.shape {
            Shape::Fresh | Shape::OverdueFirstRound => {}
            Shape::AwaitingStudy => {
                story.feedback = Some((
                    days(raised, 1),
                    true,
                    "经入户核实，预警情况基本属实，提请镇街研判".to_owned(),
                ))
            }
            Shape::OverdueStudy => {
                story.feedback = Some((
                    days(raised, 5),
                    true,
                    "经入户核实，家庭临时遭遇困难，提请镇街研判".to_owned(),
                ))
            }
            Shape::Studied => {
                story.feedback = Some((days(raised, 1), false, DISMISSAL_FINDINGS[1].to_owned()));
                story.study = Some((
                    g.ago(2),
                    StudyDecision::NoRiskDismissed,
                    None,
                    DISMISSAL_REASONS[0].to_owned(),
                ));
            }
            Shape::Closed => story = story.dismissed(&mut s.rng),
        }
        s.defer(raised, 9, Deferred::Story(Box::new(story)));
    } else if s.rng.chance(30) {
        let span = (g.ago(30) - ymd(2023, 3, 1)).num_days().max(1);
        let raised = days(ymd(2023, 3, 1), s.rng.between(0, span));
        let (source, department) = random_department(&mut s.rng);
        let story =
            Story::new("screening", source, department, raised, &mut s.rng).dismissed(&mut s.rng);
        s.defer(raised, 9, Deferred::Story(Box::new(story)));
    }
    s.finish()
}

fn report(
    world: &World,
    plans: &[Plan],
    already_loaded: bool,
    commands: u64,
    new_events: i64,
    elapsed: Duration,
) -> DemoReport {
    let mut r = DemoReport {
        already_loaded,
        households: 0,
        people: 0,
        townships: world.townships.len(),
        villages: world.townships.iter().map(|t| t.villages.len()).sum(),
        grids: world
            .townships
            .iter()
            .flat_map(|t| &t.villages)
            .map(|v| v.grids as usize)
            .sum(),
        user_count: world.users().len(),
        users: world.printed(),
        stages: BTreeMap::new(),
        alerts: BTreeMap::new(),
        focus_groups: BTreeMap::new(),
        included_2023: (0, 0),
        monitored_household: Uuid::nil(),
        eligible_household: Uuid::nil(),
        open_alerts: Vec::new(),
        overdue_alerts: Vec::new(),
        commands,
        new_events,
        elapsed,
    };
    for s in plans.iter().filter_map(|p| p.household.as_ref()) {
        r.households += 1;
        r.people += s.people;
        if let Some(stage) = s.stage {
            *r.stages.entry(stage).or_default() += 1;
        }
        for tag in &s.tags {
            *r.focus_groups.entry(tag.code()).or_default() += 1;
        }
        for (id, status) in &s.alerts {
            *r.alerts.entry(status).or_default() += 1;
            if *status != "CLOSED" {
                r.open_alerts.push(*id);
            }
            if status.starts_with("OVERDUE") {
                r.overdue_alerts.push(*id);
            }
        }
        if s.approvals.iter().any(|d| d.year() == 2023) {
            r.included_2023.0 += 1;
            r.included_2023.1 += s.people;
        }
        match s.key.as_str() {
            // Rolled back after removal, in 合理村: a rich timeline and reasons not to remove.
            "case:c23-05" => r.monitored_household = s.id,
            "case:c23-01" => r.eligible_household = s.id,
            _ => {}
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use dixian_domain::Decider;
    use dixian_domain::household::{HouseholdState, MonitoringStatus, removal_eligibility_under};
    use dixian_domain::policy::Policy;

    use super::*;

    fn generator<'w>(world: &'w World, pii: &'w PiiKeys) -> Gen<'w> {
        let system = Actor::new(
            Uuid::nil(),
            Role::CountyOfficer,
            RegionCode::parse("37").unwrap(),
        );
        let policy = Policy::replay(&shandong_defaults(
            &system,
            china_time(ymd(2022, 12, 1), 9, 0),
        ));
        let now = Utc::now();
        Gen {
            seed: DEFAULT_SEED,
            world,
            policy,
            pii,
            today: china_date(now),
            now,
        }
    }

    fn keys() -> PiiKeys {
        PiiKeys::from_secret("demo-unit-test-key-0123456789").unwrap()
    }

    /// Decides every planned command against the state folded so far, as the server would.
    fn dry_run(plans: &[Plan]) -> HashMap<String, HouseholdState> {
        let mut households: HashMap<String, HouseholdState> = HashMap::new();
        let mut alerts = HashMap::new();
        let mut users = HashMap::new();
        for op in plans.iter().flat_map(|p| &p.ops) {
            let id = op.stream.text();
            match &op.cmd {
                Cmd::Household(c) => {
                    let state = households.remove(&id).unwrap_or_default();
                    let events =
                        Household::decide(c, &state).unwrap_or_else(|e| panic!("{}: {e}", op.key));
                    households.insert(id, events.iter().fold(state, Household::evolve));
                }
                Cmd::Alert(c) => {
                    let state = alerts.remove(&id).unwrap_or_default();
                    let events =
                        Alert::decide(c, &state).unwrap_or_else(|e| panic!("{}: {e}", op.key));
                    let state = events.iter().fold(state, Alert::evolve);
                    // What the alert reactor does on the household's file.
                    let alert_id = op.stream.id.uuid().expect("an alert stream");
                    let household = state.raised.as_ref().and_then(|r| r.household_id);
                    for event in &events {
                        let (body, by, at): (H, _, _) = match (event, household) {
                            (AlertEvent::AlertRaised { by, at, .. }, Some(_)) => {
                                (LinkAlert { alert_id }.into(), by, at)
                            }
                            (
                                AlertEvent::AlertClosed {
                                    disposition,
                                    by,
                                    at,
                                    ..
                                },
                                Some(_),
                            ) => (
                                CloseLinkedAlert {
                                    alert_id,
                                    disposition: Some(*disposition),
                                }
                                .into(),
                                by,
                                at,
                            ),
                            _ => continue,
                        };
                        let key = StreamId::Household(household.unwrap_or_default()).to_string();
                        let file = households.remove(&key).unwrap_or_default();
                        let reaction = Command::new(by.clone(), *at, body);
                        let events = Household::decide(&reaction, &file)
                            .unwrap_or_else(|e| panic!("reaction to {}: {e}", op.key));
                        households.insert(key, events.iter().fold(file, Household::evolve));
                    }
                    alerts.insert(id, state);
                }
                Cmd::User(c) => {
                    let state = users.remove(&id).unwrap_or_default();
                    let events =
                        User::decide(c, &state).unwrap_or_else(|e| panic!("{}: {e}", op.key));
                    users.insert(id, events.iter().fold(state, User::evolve));
                }
            }
        }
        households
    }

    fn business_time(cmd: &Cmd) -> DateTime<Utc> {
        match cmd {
            Cmd::Household(c) => c.at,
            Cmd::Alert(c) => c.at,
            Cmd::User(_) => DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn every_planned_command_is_accepted_by_the_domain_in_order() {
        let world = World::build(DEFAULT_SEED);
        let pii = keys();
        let g = generator(&world, &pii);
        let plans = g.plans(400).unwrap();
        let households = dry_run(&plans);
        let report = report(&world, &plans, false, 0, 0, Duration::ZERO);
        assert_eq!(report.households, 400);
        assert_eq!(households.len(), 400);

        // Business times move forward within each household (its alerts included) and are past.
        for plan in &plans {
            let times: Vec<_> = plan.ops.iter().map(|op| business_time(&op.cmd)).collect();
            assert!(
                times
                    .windows(2)
                    .all(|w| w[0] < w[1] || w[1] == DateTime::<Utc>::MIN_UTC),
                "{:?}",
                plan.household.as_ref().map(|h| &h.key)
            );
            assert!(times.iter().all(|t| *t < g.now));
        }

        // The seed's figure: 22 households, 62 people newly included in 2023.
        assert_eq!(report.included_2023, (22, 62));
        let approvals_2023 = plans
            .iter()
            .flat_map(|p| &p.ops)
            .filter(|op| matches!(&op.cmd, Cmd::Household(c) if matches!(c.body, H::ApproveInclusion(_)) && china_date(c.at).year() == 2023))
            .count();
        assert_eq!(approvals_2023, 22);

        // Every stage is there; the printed households are what they claim.
        for stage in [
            "APPLIED",
            "HOME_VERIFIED",
            "DATA_COMPARED",
            "REVIEW_APPROVED",
            "NOTICE_OPEN",
            "NOTICE_CLOSED",
            "TOWNSHIP_APPROVED",
            "RETURNED_BY_TOWNSHIP",
            "GREEN_CHANNEL_OVERDUE",
            "REJECTED",
            "MONITORED_ELIGIBLE",
            "REMOVAL_PROPOSED",
            "REMOVAL_NOTICE_OPEN",
            "RISK_REMOVED",
            "MONITORED_ROLLED_BACK",
            "MONITORED_SECOND_EPISODE",
        ] {
            assert!(
                report.stages.get(stage).copied().unwrap_or(0) > 0,
                "no case at {stage}"
            );
        }
        let state = |id: Uuid| &households[&StreamId::Household(id).to_string()];
        let eligible =
            removal_eligibility_under(state(report.eligible_household), &g.policy, g.today);
        assert!(eligible.eligible, "{:?}", eligible.reasons);
        let monitored = state(report.monitored_household);
        assert_eq!(monitored.status, MonitoringStatus::Monitored);
        assert_eq!(monitored.episodes[0].rollbacks, 1);
        assert!(!removal_eligibility_under(monitored, &g.policy, g.today).eligible);
        let second_episode = households
            .values()
            .filter(|h| h.episodes.len() == 2)
            .count();
        assert!(second_episode >= 1);
        for status in [
            "AWAITING_FIRST_ROUND",
            "OVERDUE_FIRST_ROUND",
            "AWAITING_STUDY",
            "OVERDUE_STUDY",
            "STUDIED",
            "CLOSED",
        ] {
            assert!(
                report.alerts.get(status).copied().unwrap_or(0) > 0,
                "no alert {status}"
            );
        }
        for group in ["KNOWN_DIFFICULTY", "SUDDEN_DIFFICULTY", "ELDERLY_OR_CHILD"] {
            assert!(
                report.focus_groups.get(group).copied().unwrap_or(0) > 0,
                "no {group}"
            );
        }
    }

    #[test]
    fn loading_on_any_day_gives_accepted_histories_and_the_same_stages() {
        let world = World::build(DEFAULT_SEED);
        let pii = keys();
        for (y, m, d) in [
            (2026, 8, 31),
            (2026, 11, 1),
            (2026, 12, 1),
            (2027, 1, 1),
            (2027, 2, 28),
            (2027, 3, 1),
            (2027, 7, 31),
        ] {
            let today = ymd(y, m, d);
            let g = Gen {
                today,
                now: china_time(today, 0, 0),
                ..generator(&world, &pii)
            };
            let plans = g.plans(300).unwrap_or_else(|e| panic!("{today}: {e}"));
            let households = dry_run(&plans);
            let r = report(&world, &plans, false, 0, 0, Duration::ZERO);
            assert_eq!(r.included_2023, (22, 62), "{today}");
            let eligible = &households[&StreamId::Household(r.eligible_household).to_string()];
            assert!(
                removal_eligibility_under(eligible, &g.policy, today).eligible,
                "{today}"
            );
            assert!(
                r.alerts.contains_key("OVERDUE_FIRST_ROUND")
                    && r.alerts.contains_key("AWAITING_FIRST_ROUND"),
                "{today}"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_commands_and_people() {
        let world = World::build(DEFAULT_SEED);
        let pii = keys();
        let g = generator(&world, &pii);
        let a = g.plans(150).unwrap();
        let b = g.plans(150).unwrap();
        let ids = |plans: &[Plan]| {
            plans
                .iter()
                .flat_map(|p| &p.ops)
                .map(|op| (op.key.clone(), op.meta.command_id, op.meta.fingerprint))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        let unique: HashSet<Uuid> = a
            .iter()
            .flat_map(|p| &p.ops)
            .map(|op| op.meta.command_id)
            .collect();
        assert_eq!(
            unique.len(),
            a.iter().map(|p| p.ops.len()).sum::<usize>(),
            "command ids are unique"
        );
        // A larger district keeps the smaller one's households as they were.
        let c = g.plans(300).unwrap();
        let keys_a: HashSet<Uuid> = a
            .iter()
            .flat_map(|p| &p.ops)
            .map(|op| op.meta.command_id)
            .collect();
        let keys_c: HashSet<Uuid> = c
            .iter()
            .flat_map(|p| &p.ops)
            .map(|op| op.meta.command_id)
            .collect();
        assert!(keys_a.is_subset(&keys_c));
    }

    #[test]
    fn id_numbers_are_valid_unique_and_consistent_with_the_member() {
        let world = World::build(DEFAULT_SEED);
        let pii = keys();
        let g = generator(&world, &pii);
        let plans = g.plans(200).unwrap();
        let mut seen = HashSet::new();
        for op in plans.iter().flat_map(|p| &p.ops) {
            let member = match &op.cmd {
                Cmd::Household(c) => match &c.body {
                    H::RegisterHousehold(r) => &r.head,
                    H::AddMember(a) => &a.member,
                    _ => continue,
                },
                _ => continue,
            };
            let plain = pii.open(&member.id_number).unwrap();
            let id = IdNumber::parse(&plain).unwrap();
            assert!(plain.starts_with(COUNTY));
            assert_eq!(id.birth_date(), member.birth_date);
            assert_eq!(id.sex(), member.sex);
            assert!(seen.insert(plain), "ID numbers are unique");
        }
        assert!(seen.len() > 400);
    }

    #[test]
    fn the_world_has_every_street_and_town_with_villages_and_grids() {
        let world = World::build(DEFAULT_SEED);
        assert_eq!(world.townships.len(), 12);
        let jixia = &world.townships[3];
        assert_eq!(jixia.name, "稷下街道");
        assert_eq!(jixia.villages[0].name, "合理村");
        assert_eq!(jixia.villages[0].code.as_str(), "370305004201");
        for t in &world.townships {
            assert!((4..=12).contains(&t.villages.len()), "{}", t.name);
            assert!(t.villages.iter().all(|v| (2..=3).contains(&v.grids)));
        }
        let printed: Vec<Role> = world.printed().iter().map(|u| u.role).collect();
        assert_eq!(printed.len(), 7);
        assert_eq!(printed.iter().collect::<HashSet<_>>().len(), 7);
    }
}
