//! The store calls that are timed, each with its label. An enum, so that timing a call picks
//! its histogram by index rather than by hashing a label.

/// A store call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    LedgerClaim,
    LedgerComplete,
    LedgerRelease,
    LedgerPurge,
    LedgerPing,
    StateLoad,
    StateSave,
    StatePing,
    QueuePush,
    QueuePushKept,
    QueuePushAcknowledged,
    QueueFinish,
    QueueRetry,
    QueueBury,
    QueueDeadLetters,
    QueueReplay,
    QueueStats,
    QueueCheckpoint,
    QueuePending,
    QueueOldest,
    DataGet,
    DataSet,
    DataEntries,
    TimerSet,
    TimerGet,
    TimerRemove,
    TimerDue,
    TimerClaim,
}

impl Operation {
    pub(crate) const ALL: [Self; 28] = [
        Self::LedgerClaim,
        Self::LedgerComplete,
        Self::LedgerRelease,
        Self::LedgerPurge,
        Self::LedgerPing,
        Self::StateLoad,
        Self::StateSave,
        Self::StatePing,
        Self::QueuePush,
        Self::QueuePushKept,
        Self::QueuePushAcknowledged,
        Self::QueueFinish,
        Self::QueueRetry,
        Self::QueueBury,
        Self::QueueDeadLetters,
        Self::QueueReplay,
        Self::QueueStats,
        Self::QueueCheckpoint,
        Self::QueuePending,
        Self::QueueOldest,
        Self::DataGet,
        Self::DataSet,
        Self::DataEntries,
        Self::TimerSet,
        Self::TimerGet,
        Self::TimerRemove,
        Self::TimerDue,
        Self::TimerClaim,
    ];

    /// The `operation` label.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::LedgerClaim => "ledger_claim",
            Self::LedgerComplete => "ledger_complete",
            Self::LedgerRelease => "ledger_release",
            Self::LedgerPurge => "ledger_purge",
            Self::LedgerPing => "ledger_ping",
            Self::StateLoad => "state_load",
            Self::StateSave => "state_save",
            Self::StatePing => "state_ping",
            Self::QueuePush => "queue_push",
            Self::QueuePushKept => "queue_push_kept",
            Self::QueuePushAcknowledged => "queue_push_acknowledged",
            Self::QueueFinish => "queue_finish",
            Self::QueueRetry => "queue_retry",
            Self::QueueBury => "queue_bury",
            Self::QueueDeadLetters => "queue_dead_letters",
            Self::QueueReplay => "queue_replay",
            Self::QueueStats => "queue_stats",
            Self::QueueCheckpoint => "queue_checkpoint",
            Self::QueuePending => "queue_pending",
            Self::QueueOldest => "queue_oldest",
            Self::DataGet => "data_get",
            Self::DataSet => "data_set",
            Self::DataEntries => "data_entries",
            Self::TimerSet => "timer_set",
            Self::TimerGet => "timer_get",
            Self::TimerRemove => "timer_remove",
            Self::TimerDue => "timer_due",
            Self::TimerClaim => "timer_claim",
        }
    }

    /// Its place in [`ALL`](Self::ALL).
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_sits_at_its_index_with_its_own_name() {
        for (i, operation) in Operation::ALL.iter().enumerate() {
            assert_eq!(operation.index(), i);
        }
        let mut names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Operation::ALL.len());
    }
}
