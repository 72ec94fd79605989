//! Job ids as stream positions: an entry id and its partition in one `u64`.

use std::time::SystemTime;

use botwire_store::JobId;

/// Partition bits in a job id: up to 64 partitions; 63 marks ids of dead-only jobs.
pub(super) const PARTITION_BITS: u32 = 6;
pub(super) const DEAD_ONLY: u64 = 63;

pub(super) fn now_ms() -> u64 {
    botwire_store::epoch_ms(SystemTime::now())
}

/// A job id from a stream entry id (`<ms>-<seq>`) and its partition.
pub(super) fn job_id(entry: &str, partition: u32) -> Option<JobId> {
    let (ms, seq) = entry.split_once('-')?;
    let (ms, seq): (u64, u64) = (ms.parse().ok()?, seq.parse().ok()?);
    (seq < 1 << 16).then(|| JobId((ms << 22) | (seq << PARTITION_BITS) | u64::from(partition)))
}

/// The stream entry and partition of a job id (`None` for dead-only ids).
pub(super) fn entry_of(id: JobId) -> Option<(String, u32)> {
    let partition = id.0 & ((1 << PARTITION_BITS) - 1);
    if partition == DEAD_ONLY {
        return None;
    }
    let seq = (id.0 >> PARTITION_BITS) & 0xFFFF;
    let ms = id.0 >> 22;
    Some((format!("{ms}-{seq}"), u32::try_from(partition).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_carry_the_entry_and_the_partition() {
        let id = job_id("1700000000000-5", 7).expect("in range");
        assert_eq!(entry_of(id), Some(("1700000000000-5".to_owned(), 7)));
        assert_eq!(job_id("1-70000", 1), None, "a sequence past 16 bits");
        assert_eq!(entry_of(JobId((3 << PARTITION_BITS) | DEAD_ONLY)), None);
    }
}
