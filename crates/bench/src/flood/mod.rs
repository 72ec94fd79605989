//! `botwire-bench flood`: a burst of Chatwork deliveries, faster than the (fake, rate-limited)
//! Chatwork API takes replies, at the sample bot on the embedded store, which is killed with
//! SIGKILL several times on the way and started again on the same data directory.
//!
//! Chatwork never resends, so what counts is what the bot acknowledged with 200: each of those
//! must reach its room, in the room's order, with no dead letter and no replay by hand. The
//! run reports how many were acknowledged, answered, answered twice (sent, then killed before
//! marked done), out of order, dead-lettered; the deepest backlog, the bot's memory, and how
//! long each restart took. `--hold` keeps every reply waiting (a one-an-hour limit) to measure
//! what a queued job costs in memory and on disk.
//!
//! ```text
//! cargo run --release -p botwire-bench -- flood                       # 50,000, 3 kills
//! cargo run --release -p botwire-bench -- flood --hold --deliveries 1000000 --kills 1
//! ```

pub(crate) mod bot;
mod order;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use botwire::platforms::Rate;
use botwire_testkit::bot_process::BotProcess;
use botwire_testkit::chatwork::{self, Signer};
use botwire_testkit::chatwork_api::FakeApi;
use botwire_testkit::proc_stats::ProcStats;
use botwire_testkit::tcp;
use tokio::sync::watch;

use crate::load::run::BoxResult;
use order::Arrivals;

/// base64 of "flood-webhook-token".
const TOKEN: &str = "Zmxvb2Qtd2ViaG9vay10b2tlbg==";
/// How long the run waits for any progress before it calls the rest lost.
const STALL: Duration = Duration::from_secs(60);

/// The flood's settings.
#[derive(Debug, clap::Args)]
pub(crate) struct FloodArgs {
    /// Deliveries sent in all.
    #[arg(long, default_value_t = 50_000)]
    deliveries: u64,
    /// Chatwork rooms they go to, in turn.
    #[arg(long, default_value_t = 20)]
    rooms: u64,
    /// SIGKILLs during the flood, evenly spaced by deliveries acknowledged.
    #[arg(long, default_value_t = 3)]
    kills: u64,
    /// Calls per token the fake API allows (and the bot keeps to), `N/DURATION`.
    #[arg(long, default_value = "1000/1s")]
    token_limit: String,
    /// Posts per room the fake API allows (and the bot keeps to).
    #[arg(long, default_value = "100/1s")]
    room_limit: String,
    /// The queue's capacity (`BOTWIRE_QUEUE_CAPACITY`); the store's default when unset.
    #[arg(long)]
    capacity: Option<u64>,
    /// Keep every reply waiting, and stop once the flood is queued: memory and disk per job.
    #[arg(long)]
    hold: bool,
    /// The data directory (default: a temporary one, removed afterwards).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// The bot now serving, as the senders and the sampler see it.
#[derive(Debug, Clone, Copy)]
struct Live {
    addr: SocketAddr,
    admin: SocketAddr,
    pid: u32,
}

/// What one sender saw.
#[derive(Debug, Default)]
struct Sent {
    acked: Vec<(u64, u64)>,
    /// No answer: the bot was killed while the request was open.
    unanswered: u64,
    /// Answered, but not 200.
    refused: Vec<u16>,
}

/// The deepest backlog and the most memory seen.
#[derive(Debug, Default, Clone, Copy)]
struct Peaks {
    queued: u64,
    rss: u64,
}

/// Runs the flood and prints its report.
///
/// # Errors
/// When an argument is wrong, the bot cannot be started, or (without `--hold`) an
/// acknowledged delivery went unanswered or out of order, or ended as a dead letter.
pub(crate) fn flood(args: &FloodArgs) -> BoxResult<()> {
    let token_limit = limit(&args.token_limit, "--token-limit")?;
    let room_limit = limit(&args.room_limit, "--room-limit")?;
    if args.rooms == 0 || args.deliveries < args.rooms {
        return Err("--rooms must be at least 1 and at most --deliveries".into());
    }
    let temp;
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_owned()
        }
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(args, &data_dir, token_limit, room_limit))
}

fn limit(text: &str, what: &str) -> BoxResult<Rate> {
    match Rate::parse(text) {
        Ok(Some(rate)) => Ok(rate),
        _ => Err(format!("{what} is N/DURATION (like 1000/1s), not {text:?}").into()),
    }
}

async fn run(args: &FloodArgs, data_dir: &Path, token: Rate, room: Rate) -> BoxResult<()> {
    let mut api = FakeApi::start().await;
    api.enforce_limits(
        (token.count as usize, token.per),
        (room.count as usize, room.per),
    );
    let bot_token_limit = if args.hold {
        "1/1h".to_owned()
    } else {
        args.token_limit.clone()
    };
    let mut settings = vec![
        ("BOTWIRE_CHATWORK_TOKEN", TOKEN.to_owned()),
        ("BOTWIRE_CHATWORK_API_TOKEN", "flood-api-token".to_owned()),
        ("BOTWIRE_CHATWORK_API_BASE", api.base()),
        ("BOTWIRE_CHATWORK_RATE_LIMIT", bot_token_limit),
        (
            "BOTWIRE_CHATWORK_CONVERSATION_RATE_LIMIT",
            args.room_limit.clone(),
        ),
    ];
    if let Some(capacity) = args.capacity {
        settings.push(("BOTWIRE_QUEUE_CAPACITY", capacity.to_string()));
    }
    let settings = &settings;
    let start = move || async move {
        let started = Instant::now();
        let bot = BotProcess::start(bot::command(data_dir, settings)?).await?;
        let live = Live {
            addr: bot.addr,
            admin: bot.admin.ok_or("the bot has no admin listener")?,
            pid: bot.pid().ok_or("the bot exited")?,
        };
        Ok::<_, botwire_testkit::bot_process::StartError>((bot, live, started.elapsed()))
    };

    let (mut bot, live, _) = start().await?;
    let rss_at_start = ProcStats::of(live.pid).rss_bytes()?;
    let (live_tx, live_rx) = watch::channel(Some(live));
    let (acked_tx, mut acked_rx) = watch::channel(0_u64);
    let acked_tx = Arc::new(acked_tx);

    // Replies, as they reach the fake API's rooms.
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let (answered_tx, mut answered_rx) = watch::channel(0_u64);
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let collector = {
        let arrivals = Arc::clone(&arrivals);
        tokio::spawn(async move {
            loop {
                let post = tokio::select! {
                    post = api.next_message() => post,
                    _ = &mut stop_rx => return api,
                };
                let distinct = {
                    let mut arrivals = arrivals.lock().expect("not poisoned");
                    arrivals.record(&post.body);
                    arrivals.distinct()
                };
                answered_tx.send_replace(distinct);
            }
        })
    };
    let peaks = Arc::new(Mutex::new(Peaks::default()));
    let sampler = tokio::spawn(sample(live_rx.clone(), Arc::clone(&peaks)));

    // One sender per room at most, so each room's messages leave in their order.
    let senders = args.rooms.min(32);
    let per_room = args.deliveries / args.rooms;
    let flood_started = Instant::now();
    let handles: Vec<_> = (0..senders)
        .map(|s| {
            let rooms: Vec<u64> = (s..args.rooms).step_by(senders as usize).collect();
            tokio::spawn(send_all(
                rooms,
                per_room,
                live_rx.clone(),
                Arc::clone(&acked_tx),
            ))
        })
        .collect();

    // The kills, evenly spaced over what is acknowledged.
    let mut restarts = Vec::new();
    for k in 1..=args.kills {
        let at = per_room * args.rooms * k / (args.kills + 1);
        acked_rx.wait_for(|n| *n >= at).await?;
        live_tx.send_replace(None);
        bot.kill().await?;
        let (next, live, took) = start().await?;
        bot = next;
        restarts.push(took);
        live_tx.send_replace(Some(live));
    }
    let mut sent = Sent::default();
    for handle in handles {
        let one = handle.await?;
        sent.acked.extend(one.acked);
        sent.unanswered += one.unanswered;
        sent.refused.extend(one.refused);
    }
    let flood_took = flood_started.elapsed();
    let live = (*live_rx.borrow()).ok_or("no bot is running")?;

    let mut broken = Vec::new();
    let report = if args.hold {
        let stats = queue_stats(live.admin).await?;
        let rss = ProcStats::of(live.pid).rss_bytes()?;
        let disk = size_of(data_dir)?;
        // Killed and started again on the backlog: the queue's index is rebuilt from the
        // file, and the store's page cache starts cold.
        live_tx.send_replace(None);
        bot.kill().await?;
        let (next, reopened, took) = start().await?;
        bot = next;
        let rss_reopened = ProcStats::of(reopened.pid).rss_bytes()?;
        let queued_reopened = queue_stats(reopened.admin).await?.queued;
        restarts.push(took);
        let per_job =
            |rss: u64| rss.saturating_sub(rss_at_start) as f64 / stats.queued.max(1) as f64;
        format!(
            "held {} queued jobs ({} acknowledged; capacity {}); bot RSS {} MiB at start, {} MiB \
             after the flood ({:.0} B per queued job); killed and started again in {:.2} s with \
             {} queued: {} MiB ({:.0} B per queued job); data dir {} MiB ({:.0} B per job)",
            stats.queued,
            sent.acked.len(),
            stats.capacity,
            rss_at_start >> 20,
            rss >> 20,
            per_job(rss),
            took.as_secs_f64(),
            queued_reopened,
            rss_reopened >> 20,
            per_job(rss_reopened),
            disk >> 20,
            disk as f64 / stats.queued.max(1) as f64,
        )
    } else {
        // Every acknowledged delivery answered, then the queue empty.
        let total = sent.acked.len() as u64;
        loop {
            if *answered_rx.borrow_and_update() >= total {
                let arrivals = arrivals.lock().expect("not poisoned");
                if sent.acked.iter().all(|(r, n)| arrivals.answered(*r, *n)) {
                    break;
                }
            }
            if tokio::time::timeout(STALL, answered_rx.changed())
                .await
                .is_err()
            {
                break;
            }
        }
        let drained = flood_started.elapsed();
        let stats = settled(live.admin).await?;
        let arrivals = arrivals.lock().expect("not poisoned");
        let missing = sent
            .acked
            .iter()
            .filter(|(r, n)| !arrivals.answered(*r, *n))
            .count();
        for (count, what) in [
            (missing as u64, "acknowledged deliveries never answered"),
            (arrivals.out_of_order(), "replies out of their room's order"),
            (stats.dead, "dead letters"),
            (stats.queued, "jobs still queued"),
        ] {
            if count > 0 {
                broken.push(format!("{count} {what}"));
            }
        }
        format!(
            "acknowledged {total} of {} sent; answered {} distinct ({} of the acknowledged missing), \
             {} more than once, {} out of order; dead letters {}, still queued {}; \
             flood {:.1} s, all answered after {:.1} s",
            per_room * args.rooms,
            arrivals.distinct(),
            missing,
            arrivals.again(),
            arrivals.out_of_order(),
            stats.dead,
            stats.queued,
            flood_took.as_secs_f64(),
            drained.as_secs_f64(),
        )
    };
    let peaks = *peaks.lock().expect("not poisoned");
    sampler.abort();
    let _ = stop_tx.send(());
    let api = collector.await?;
    bot.kill().await?;
    println!("{report}");
    println!(
        "answered 429 by the fake API {}; unanswered while killed {}; refused {:?}; \
         deepest backlog {} jobs; peak bot RSS {} MiB; restarts took {:?}",
        api.limited(),
        sent.unanswered,
        sent.refused,
        peaks.queued,
        peaks.rss >> 20,
        restarts,
    );
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!("the flood broke its promise: {}", broken.join(", ")).into())
    }
}

/// Sends messages 0..per_room to each of `rooms`, in turn, to whichever bot is live; a
/// delivery that gets no answer (the bot was killed) is not sent again, as Chatwork does not.
async fn send_all(
    rooms: Vec<u64>,
    per_room: u64,
    mut live: watch::Receiver<Option<Live>>,
    acked: Arc<watch::Sender<u64>>,
) -> Sent {
    let signer = Signer::new(TOKEN).expect("base64");
    let mut sent = Sent::default();
    for n in 0..per_room {
        for &room in &rooms {
            let addr = match live.wait_for(Option::is_some).await {
                Ok(now) => (*now).map(|l| l.addr),
                Err(_) => return sent,
            };
            let Some(addr) = addr else { continue };
            let event = chatwork::message_created(&order::text(room, n)).room(room);
            match tcp::send(addr, signer.request("/webhooks/chatwork", event)).await {
                Ok(answer) if answer.status == 200 => {
                    sent.acked.push((room, n));
                    acked.send_modify(|count| *count += 1);
                }
                Ok(answer) => sent.refused.push(answer.status.as_u16()),
                Err(_) => sent.unanswered += 1,
            }
        }
    }
    sent
}

/// Every quarter second: the live bot's backlog and memory.
async fn sample(live: watch::Receiver<Option<Live>>, peaks: Arc<Mutex<Peaks>>) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(now) = *live.borrow() else {
            continue;
        };
        let queued = queue_stats(now.admin).await.map_or(0, |s| s.queued);
        let rss = ProcStats::of(now.pid).rss_bytes().unwrap_or(0);
        let mut peaks = peaks.lock().expect("not poisoned");
        peaks.queued = peaks.queued.max(queued);
        peaks.rss = peaks.rss.max(rss);
    }
}

#[derive(Debug)]
struct QueueStats {
    queued: u64,
    dead: u64,
    capacity: u64,
}

async fn queue_stats(admin: SocketAddr) -> BoxResult<QueueStats> {
    let answer = tcp::get(admin, "/dead-letters").await?;
    let json = answer.json();
    let number = |key: &str| json[key].as_u64().ok_or(format!("no {key} in {json}"));
    Ok(QueueStats {
        queued: number("queued")?,
        capacity: number("capacity")?,
        dead: json["dead_letters"]
            .as_array()
            .map_or(0, |d| d.len() as u64),
    })
}

/// The queue's stats once it holds nothing (the last reply is marked done just after it is
/// sent), or as they are after a stall.
async fn settled(admin: SocketAddr) -> BoxResult<QueueStats> {
    let since = Instant::now();
    loop {
        let stats = queue_stats(admin).await?;
        if stats.queued == 0 || since.elapsed() > STALL {
            return Ok(stats);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Bytes under `dir`.
fn size_of(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            size_of(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
