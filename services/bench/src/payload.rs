//! What the bench appends: events shaped like a grid worker's household visit, sized like the
//! baseline's rows (`data` ≈ 490 B of JSON, `metadata` ≈ 150 B), so the figures compare with
//! the pgbench reference and with the raw-INSERT ceiling row for row.

use chrono::Utc;
use dixian_store::{Actor, AppendRequest, ExpectedVersion, LedgerId, NewEvent};
use uuid::Uuid;

use crate::setup::LEDGER;

/// The event type every bench event carries.
pub const EVENT_TYPE: &str = "VisitRecorded";

/// A visit record body; `n` varies it so no two rows are identical.
pub fn data(stream_id: &str, n: u64) -> String {
    format!(
        concat!(
            r#"{{"household":"{stream}","visitDate":"2026-03-01","visitor":{{"user":"u-grid-0017","#,
            r#""role":"GRID_WORKER","village":"370305004201"}},"members":4,"income":{{"#,
            r#""monthlyPerCapita":{income},"sources":["务农","养老金","低保"]}},"#,
            r#""risks":["因病","因学"],"measures":["医疗救助","教育资助"],"#,
            r#""note":"走访记录：家中老人患慢性病，医疗支出较大，已告知医保报销政策。","#,
            r#""photos":["sha256:9f2c4e1b"],"n":{n}}}"#
        ),
        stream = stream_id,
        income = 800 + n % 1000,
        n = n,
    )
}

/// Request metadata as the API would attach it.
pub fn metadata(n: u64) -> String {
    format!(
        r#"{{"device":"android-13","app":"dixian-mobile/1.4.2","ip":"10.12.3.4","clientTime":"2026-03-01T08:30:00.123+08:00","attempt":1,"n":{n}}}"#
    )
}

/// The actor of every bench command: a grid worker of the bench county.
pub fn actor() -> Actor {
    Actor {
        user: "u-grid-0017".into(),
        role: "GRID_WORKER".into(),
        jurisdiction: "370305004201".into(),
    }
}

/// A new household stream id.
pub fn new_stream() -> String {
    format!("household-{}", Uuid::now_v7())
}

/// One command of `events` visit events on one stream, with a command id as real commands have.
pub fn request(
    stream_id: &str,
    expected: ExpectedVersion,
    events: usize,
    n: &mut u64,
) -> AppendRequest {
    let now = Utc::now();
    let events = (0..events)
        .map(|_| {
            *n += 1;
            NewEvent {
                event_id: Uuid::now_v7(),
                event_type: EVENT_TYPE.into(),
                schema_version: 1,
                data: data(stream_id, *n),
                metadata: metadata(*n),
                occurred_at: now,
            }
        })
        .collect();
    AppendRequest {
        claims: Vec::new(),
        ledger: LedgerId::parse(LEDGER).expect("a valid ledger id"),
        stream_id: stream_id.to_owned(),
        stream_type: "household".into(),
        expected,
        command_id: Some(Uuid::now_v7()),
        fingerprint: None,
        actor: actor(),
        correlation_id: Some(Uuid::now_v7()),
        causation_id: None,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json_of_the_baseline_size() {
        let stream = new_stream();
        let d = data(&stream, 123_456);
        let m = metadata(123_456);
        serde_json::from_str::<serde_json::Value>(&d).unwrap();
        serde_json::from_str::<serde_json::Value>(&m).unwrap();
        assert!((440..=540).contains(&d.len()), "data is {} bytes", d.len());
        assert!(
            (120..=180).contains(&m.len()),
            "metadata is {} bytes",
            m.len()
        );
    }
}
