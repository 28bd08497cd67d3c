//! Shandong's (山东, province 37) starting policy, with where every number comes from.
//! Sources are those collected in `research/domain.md` §1.

use chrono::{DateTime, NaiveDate, Utc};

use crate::actor::Actor;
use crate::money::yuan;
use crate::region::RegionCode;

use super::{PolicyEvent, PolicyRules};

/// Shandong's province code.
pub const SHANDONG: &str = "37";

/// The events that seed `policy-37`, attributed to `by` at `at` (the service's seeding
/// actor and time; the domain has no clock).
///
/// - Identification ≤ 15 days from the clue, village notice ≥ 5 days: the national 2023
///   guide 《健全防止返贫动态监测和帮扶机制工作指南》 as restated by Qin'an county
///   (http://www.qinan.gov.cn/info/11792/1360362.htm; domain.md §1.7).
/// - Home verification by ≥ 2 people: the team rule of §1.7 step 2
///   (https://www.huarong.gov.cn/yyjc/jc_hrx/94/95/content_1961.html).
/// - Removal only after ≥ 6 months monitored with measures in place, and income stable for
///   "原则上不得低于半年": §1.9 (https://www.yjq.gov.cn/openness/grassroots/6603431/39287644.html,
///   https://zongyang.gov.cn/openness/OpennessContent/show/913795.html).
/// - Alert rounds, village 3 days and township 7 days from the alert: ASSUMPTION. No national
///   number exists; based on Anhui's "村 must visit within 2 working days" and Gansu's
///   "入户核查 in 5 working days" (§1.6), in calendar days.
/// - Green-channel back-fill, 30 days: ASSUMPTION. The sources say "先帮扶后认定" without a
///   deadline (§1.7); 30 days is twice the normal identification limit.
/// - Monitoring line ¥7,000 per person per year for 2023: ASSUMPTION, to be replaced by the
///   provincial figure. Shandong's "省定防止返贫监测线" was not found (§1.4,
///   http://feixian.gov.cn/info/2863/154513.htm). It sits above the national floor of 1.5× the
///   2020 standard (≈ ¥6,000) and between the observed ¥6,900 (Hubei 2022) and ¥8,700 (Yunnan
///   2024). With no later entry it stays in force for later years.
pub fn shandong_defaults(by: &Actor, at: DateTime<Utc>) -> Vec<PolicyEvent> {
    let province = RegionCode::parse(SHANDONG).unwrap_or_else(|_| by.jurisdiction.clone());
    let from_2023 = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN);
    vec![
        PolicyEvent::PolicyRulesSet {
            province: province.clone(),
            rules: PolicyRules::national_2023(),
            effective_from: from_2023,
            basis: "国家《健全防止返贫动态监测和帮扶机制工作指南》(2023)：识别≤15天、公示≥5天、\
                    入户核实≥2人、风险消除须监测满半年且收入稳定不少于半年；预警两轮时限(3/7天)与\
                    绿色通道补办时限(30天)为系统假设值"
                .to_owned(),
            by: by.clone(),
            at,
        },
        PolicyEvent::MonitoringLineSet {
            province,
            year: 2023,
            amount_fen: yuan(7_000),
            effective_from: from_2023,
            basis: "假设值：山东省定防止返贫监测线未查到，暂按7000元/人·年，待省级文件替换"
                .to_owned(),
            by: by.clone(),
            at,
        },
    ]
}
