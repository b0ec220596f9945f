//! The order records are processed in: free for standard queues, per message group for FIFO.
//!
//! A FIFO queue promises order within a message group, so the runner processes each group one
//! record at a time, in batch order, while different groups (and standard records) run
//! concurrently. Once a record of a group is handed back to SQS, processing the later ones would
//! deliver them out of order: they are skipped and reported failed too, and SQS redelivers the
//! group from the failed record on.

use super::queue::is_fifo_arn;
use super::record::Record;

/// The attribute Lambda puts the FIFO message group in.
pub const MESSAGE_GROUP_ID: &str = "MessageGroupId";

/// Records that run one after the other; `ordered` units stop at their first failure.
#[derive(Debug)]
pub(crate) struct Unit<'r, 'a> {
    /// Whether this is a FIFO message group (stop at the first failure) or a lone record.
    pub(crate) ordered: bool,
    /// The records, in batch order.
    pub(crate) records: Vec<&'r Record<'a>>,
}

/// A FIFO message group: its queue's ARN and its `MessageGroupId`.
type GroupKey<'a> = (Option<&'a str>, Option<&'a str>);

/// Splits a batch into units of work: each standard record alone, each FIFO message group (per
/// source queue) together in batch order. Units come in the order their first record appears.
///
/// A FIFO record without a `MessageGroupId` (not something SQS sends) is grouped with the other
/// such records of its queue: order is kept, which is the safe side.
pub(crate) fn plan<'r, 'a>(records: &'r [Record<'a>]) -> Vec<Unit<'r, 'a>> {
    let mut units: Vec<Unit<'r, 'a>> = Vec::new();
    // (queue ARN, message group) → index in `units`. FIFO batches hold at most 10 records.
    let mut groups: Vec<(GroupKey<'a>, usize)> = Vec::new();
    for record in records {
        let arn = record.message().event_source_arn.as_deref();
        if !is_fifo_arn(arn) {
            units.push(Unit {
                ordered: false,
                records: vec![record],
            });
            continue;
        }
        let group = record.message_group();
        let key = (arn, group);
        match groups.iter().find(|(k, _)| *k == key) {
            Some((_, unit)) => units[*unit].records.push(record),
            None => {
                groups.push((key, units.len()));
                units.push(Unit {
                    ordered: true,
                    records: vec![record],
                });
            }
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::SqsMessage;
    use std::collections::HashMap;

    fn record(arn: &str, group: Option<&str>) -> SqsMessage {
        let mut r = SqsMessage::default();
        r.event_source_arn = Some(arn.into());
        r.attributes = group
            .map(|g| HashMap::from([(MESSAGE_GROUP_ID.to_string(), g.to_string())]))
            .unwrap_or_default();
        r
    }

    fn records(messages: &[SqsMessage]) -> Vec<Record<'_>> {
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| Record::new(i, m))
            .collect()
    }

    fn shape<'a>(units: &[Unit<'_, 'a>]) -> Vec<(bool, Option<&'a str>, Vec<usize>)> {
        units
            .iter()
            .map(|u| {
                let group = u.records[0].message_group().filter(|_| u.ordered);
                (
                    u.ordered,
                    group,
                    u.records.iter().map(|r| r.index()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn standard_records_run_alone() {
        let q = "arn:aws:sqs:us-east-1:1:q";
        let messages = [record(q, None), record(q, Some("g")), record(q, None)];
        assert_eq!(
            shape(&plan(&records(&messages))),
            [
                (false, None, vec![0]),
                (false, None, vec![1]),
                (false, None, vec![2])
            ]
        );
    }

    #[test]
    fn fifo_records_are_grouped_in_batch_order() {
        let q = "arn:aws:sqs:us-east-1:1:q.fifo";
        let other = "arn:aws:sqs:us-east-1:1:other.fifo";
        let messages = [
            record(q, Some("a")),
            record(q, Some("b")),
            record(q, Some("a")),
            record(other, Some("a")),
            record(q, None),
            record(q, Some("a")),
            record(q, None),
        ];
        assert_eq!(
            shape(&plan(&records(&messages))),
            [
                (true, Some("a"), vec![0, 2, 5]),
                (true, Some("b"), vec![1]),
                (true, Some("a"), vec![3]),
                (true, None, vec![4, 6]),
            ]
        );
    }
}
