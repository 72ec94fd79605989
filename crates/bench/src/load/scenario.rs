//! What is measured: the scenarios, their servers' settings, and the targets they must meet.

use std::fmt;

/// The credentials the load generator signs with.
pub(crate) const FUNTEK_TOKEN: &str = "bench-funtek-token";
pub(crate) const FUNTEK_SECRET: &str = "bench-funtek-signing-secret";
pub(crate) const KAMIGO_SECRET: &str = "bench-kamigo-secret";

/// Where a botwire server keeps what it remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    Memory,
    Embedded,
    Redis,
}

impl Store {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Embedded => "embedded",
            Self::Redis => "redis",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        [Self::Memory, Self::Embedded, Self::Redis]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// Which server answers, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    /// A bare hyper server that reads the body and answers a fixed 200: the ceiling.
    Baseline,
    /// The same, also checking the FUNTEK token and HMAC, parsing the body and inserting the
    /// delivery id in a map: the floor of the work every receiver does.
    BaselineWork,
    /// FUNTEK, in-response: the sample bot's answer is the HTTP response.
    Funtek(Store),
    /// Kamigo, via-API: verify, dedupe, enqueue, acknowledge; workers answer through the API.
    Kamigo(Store),
}

impl Server {
    pub(crate) fn store(self) -> Option<Store> {
        match self {
            Self::Baseline | Self::BaselineWork => None,
            Self::Funtek(store) | Self::Kamigo(store) => Some(store),
        }
    }

    /// What a row without a target is there for.
    pub(crate) fn role(self) -> &'static str {
        match self {
            Self::Baseline => "ceiling",
            Self::BaselineWork => "reference: the work alone",
            Self::Funtek(_) | Self::Kamigo(_) => "—",
        }
    }

    /// Its name on the command line of the server process (`baseline`, `baseline+work`,
    /// `funtek/memory`, …).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "baseline" => return Some(Self::Baseline),
            "baseline+work" => return Some(Self::BaselineWork),
            _ => {}
        }
        let (platform, store) = name.split_once('/')?;
        let store = Store::parse(store)?;
        match platform {
            "funtek" => Some(Self::Funtek(store)),
            "kamigo" => Some(Self::Kamigo(store)),
            _ => None,
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Baseline => f.write_str("baseline"),
            Self::BaselineWork => f.write_str("baseline+work"),
            Self::Funtek(store) => write!(f, "funtek/{}", store.name()),
            Self::Kamigo(store) => write!(f, "kamigo/{}", store.name()),
        }
    }
}

/// One line of the table: a server under one kind of load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scenario {
    pub(crate) server: Server,
    /// The share of requests that repeat a recent delivery id (the platform resending).
    pub(crate) duplicates: f64,
}

impl Scenario {
    pub(crate) fn label(&self) -> String {
        if self.duplicates > 0.0 {
            format!("{} +{:.0}% dup", self.server, self.duplicates * 100.0)
        } else {
            self.server.to_string()
        }
    }

    /// What it must reach, relative to the baseline's requests per server CPU-second.
    pub(crate) fn target(&self) -> Option<Target> {
        match self.server.store()? {
            Store::Memory => Some(Target {
                ratio: 0.8,
                p99_ms: Some(2.0),
            }),
            Store::Embedded => Some(Target {
                ratio: 0.25,
                p99_ms: Some(20.0),
            }),
            Store::Redis => Some(Target {
                ratio: 0.2,
                p99_ms: None,
            }),
        }
    }
}

/// A target: a share of the baseline's requests per server CPU-second, and a p99 bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Target {
    pub(crate) ratio: f64,
    pub(crate) p99_ms: Option<f64>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "≥ {}×", self.ratio)?;
        if let Some(p99) = self.p99_ms {
            write!(f, ", p99 ≤ {p99} ms")?;
        }
        Ok(())
    }
}

/// The scenarios of a full run, in the order each round runs them.
pub(crate) fn all(duplicates: f64) -> Vec<Scenario> {
    let plain = |server| Scenario {
        server,
        duplicates: 0.0,
    };
    let mut out = vec![plain(Server::Baseline), plain(Server::BaselineWork)];
    for store in [Store::Memory, Store::Embedded, Store::Redis] {
        out.push(plain(Server::Funtek(store)));
        out.push(plain(Server::Kamigo(store)));
    }
    if duplicates > 0.0 {
        out.push(Scenario {
            server: Server::Funtek(Store::Memory),
            duplicates,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_round_trip() {
        for scenario in all(0.1) {
            let name = scenario.server.to_string();
            assert_eq!(Server::parse(&name), Some(scenario.server), "{name}");
        }
        assert_eq!(Server::parse("funtek/disk"), None);
        assert_eq!(Server::parse("slack/memory"), None);
    }
}
