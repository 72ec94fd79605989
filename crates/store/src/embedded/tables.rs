//! The tables of one group transaction, each opened at most once however many of the batch's
//! writes use it: opening a table looks it up and checks its key and value types, which costs
//! more than a small write does.

use redb::{Key, Table, TableDefinition, Value, WriteTransaction};

use super::data::DATA;
use super::ledger::{ANSWERS, AnswerKey, AnswerValue};
use super::queue::{DEAD, DeadValue, JOBS, LAST_ID, StoredJob};
use super::state::{STATES, StateValue};
use super::unavailable;
use crate::StoreError;

/// The batch's tables, opened on first use. Dropped before the transaction commits.
pub(super) struct Tables<'tx> {
    tx: &'tx WriteTransaction,
    answers: Option<Table<'tx, AnswerKey, AnswerValue>>,
    jobs: Option<Table<'tx, u64, StoredJob<'static>>>,
    dead: Option<Table<'tx, u64, DeadValue<'static>>>,
    last_id: Option<Table<'tx, (), u64>>,
    states: Option<Table<'tx, &'static str, StateValue>>,
    data: Option<Table<'tx, &'static str, &'static str>>,
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
