use botwire_core::{BotState, BoxError, Context, Event, Handler, Reply, async_trait};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Idle,
    Teaching,
}

impl BotState for Step {
    const ALL: &'static [Self] = &[Step::Idle, Step::Teaching];

    fn name(self) -> &'static str {
        match self {
            Step::Idle => "idle",
            Step::Teaching => "teaching",
        }
    }
}

struct Idle;

#[async_trait]
impl Handler for Idle {
    async fn handle(&self, _cx: &Context, _event: &Event) -> Result<Reply, BoxError> {
        Ok(Reply::text("Teach me").goto(Step::Teching))
    }
}

fn main() {}
