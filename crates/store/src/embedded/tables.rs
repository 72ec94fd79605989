//! The store file's tables, and those of one group transaction: each opened at most once
//! however many of the batch's writes use it (opening a table looks it up and checks its key
//! and value types, which costs more than a small write does).

use redb::{Key, Table, TableDefinition, Value, WriteTransaction};

use super::access::unavailable;
use crate::StoreError;

/// (expires at, ms since the UNIX epoch; digest) → (status, body).
pub(super) const ANSWERS: TableDefinition<'_, AnswerKey, AnswerValue> =
    TableDefinition::new("ledger_answers");
pub(super) type AnswerKey = (u64, &'static [u8]);
pub(super) type AnswerValue = (u16, &'static [u8]);

/// A stored job: channel, conversation, delivery id, body, attempts, progress, last error,
/// accepted at (ms since the epoch).
pub(super) type StoredJob<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [u8],
    u32,
    Option<&'a [u8]>,
    Option<&'a str>,
    u64,
);

pub(super) const JOBS: TableDefinition<'_, u64, StoredJob<'_>> = TableDefinition::new("queue_jobs");
/// Dead letters: the job, why, and when (ms since the epoch).
pub(super) const DEAD: TableDefinition<'_, u64, DeadValue<'_>> = TableDefinition::new("queue_dead");
pub(super) type DeadValue<'a> = (StoredJob<'a>, &'a str, u64);

/// The highest job id ever given, so that ids never repeat across restarts.
pub(super) const LAST_ID: TableDefinition<'_, (), u64> = TableDefinition::new("queue_last_id");

/// Conversation states: `channel \n conversation` → (version, state).
pub(super) const STATES: TableDefinition<'_, &str, StateValue> = TableDefinition::new("states");
/// The state's version, and its name.
pub(super) type StateValue = (u64, &'static str);

/// Conversation data: `channel \n conversation \n key` → value.
pub(super) const DATA: TableDefinition<'_, &str, &str> = TableDefinition::new("conversation_data");

/// State timers: `channel \n conversation` → (generation, due at, claimed until (ms since the
/// epoch, 0 when unclaimed), state).
pub(super) const TIMERS: TableDefinition<'_, &str, TimerValue> = TableDefinition::new("timers");
pub(super) type TimerValue = (u64, u64, u64, &'static str);
/// The timers by due time: (due at, `channel \n conversation`).
pub(super) const TIMERS_DUE: TableDefinition<'_, (u64, &str), ()> =
    TableDefinition::new("timers_due");

/// The batch's tables, opened on first use. Dropped before the transaction commits.
pub(super) struct Tables<'tx> {
    tx: &'tx WriteTransaction,
    answers: Option<Table<'tx, AnswerKey, AnswerValue>>,
    jobs: Option<Table<'tx, u64, StoredJob<'static>>>,
    dead: Option<Table<'tx, u64, DeadValue<'static>>>,
    last_id: Option<Table<'tx, (), u64>>,
    states: Option<Table<'tx, &'static str, StateValue>>,
    data: Option<Table<'tx, &'static str, &'static str>>,
    timers: Option<Table<'tx, &'static str, TimerValue>>,
    timers_due: Option<Table<'tx, (u64, &'static str), ()>>,
}

impl<'tx> Tables<'tx> {
    pub(super) fn new(tx: &'tx WriteTransaction) -> Self {
        Self {
            tx,
            answers: None,
            jobs: None,
            dead: None,
            last_id: None,
            states: None,
            data: None,
            timers: None,
            timers_due: None,
        }
    }

    /// The ledger's answers.
    pub(super) fn answers(
        &mut self,
    ) -> Result<&mut Table<'tx, AnswerKey, AnswerValue>, StoreError> {
        open(&mut self.answers, self.tx, ANSWERS)
    }

    /// The queue's jobs.
    pub(super) fn jobs(&mut self) -> Result<&mut Table<'tx, u64, StoredJob<'static>>, StoreError> {
        open(&mut self.jobs, self.tx, JOBS)
    }

    /// The queue's dead letters.
    pub(super) fn dead(&mut self) -> Result<&mut Table<'tx, u64, DeadValue<'static>>, StoreError> {
        open(&mut self.dead, self.tx, DEAD)
    }

    /// The highest job id given.
    pub(super) fn last_id(&mut self) -> Result<&mut Table<'tx, (), u64>, StoreError> {
        open(&mut self.last_id, self.tx, LAST_ID)
    }

    /// The conversations' states.
    pub(super) fn states(
        &mut self,
    ) -> Result<&mut Table<'tx, &'static str, StateValue>, StoreError> {
        open(&mut self.states, self.tx, STATES)
    }

    /// What bots remember per conversation.
    pub(super) fn data(
        &mut self,
    ) -> Result<&mut Table<'tx, &'static str, &'static str>, StoreError> {
        open(&mut self.data, self.tx, DATA)
    }
}

impl<'tx> Tables<'tx> {
    /// The conversations' timers.
    pub(super) fn timers(
        &mut self,
    ) -> Result<&mut Table<'tx, &'static str, TimerValue>, StoreError> {
        open(&mut self.timers, self.tx, TIMERS)
    }

    /// The timers by due time.
    pub(super) fn timers_due(
        &mut self,
    ) -> Result<&mut Table<'tx, (u64, &'static str), ()>, StoreError> {
        open(&mut self.timers_due, self.tx, TIMERS_DUE)
    }
}

fn open<'s, 'tx, K: Key + 'static, V: Value + 'static>(
    slot: &'s mut Option<Table<'tx, K, V>>,
    tx: &'tx WriteTransaction,
    definition: TableDefinition<'_, K, V>,
) -> Result<&'s mut Table<'tx, K, V>, StoreError> {
    if slot.is_none() {
        *slot = Some(tx.open_table(definition).map_err(unavailable)?);
    }
    slot.as_mut()
        .ok_or_else(|| unavailable("the table was opened just now"))
}
