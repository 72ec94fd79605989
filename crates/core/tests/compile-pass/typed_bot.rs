use botwire_core::{BotState, BoxError, Bot, Context, Event, Handler, Reply, async_trait};

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
    async fn handle(&self, cx: &Context, _event: &Event) -> Result<Reply, BoxError> {
        assert_eq!(cx.state_as::<Step>(), Some(Step::Idle));
        Ok(Reply::text("Teach me").goto(Step::Teaching))
    }
}

struct Teaching;

#[async_trait]
impl Handler for Teaching {
    async fn handle(&self, _cx: &Context, _event: &Event) -> Result<Reply, BoxError> {
        Ok(Reply::text("Got it").goto(Step::Idle))
    }
}

fn main() {
    let bot = Bot::builder_for::<Step>()
        .initial(Step::Idle)
        .state(Step::Idle, Idle)
        .state(Step::Teaching, Teaching)
        .transitions(Step::Idle, [Step::Teaching])
        .transitions(Step::Teaching, [Step::Idle])
        .build()
        .expect("a valid bot");
    assert_eq!(bot.initial_state(), "idle");
}
