//! The load bench: botwire side by side with a bare hyper server, under the same load.

pub(crate) mod affinity;
pub(crate) mod bare;
pub(crate) mod generator;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod scenario;
pub(crate) mod serve;
