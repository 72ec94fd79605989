use botwire_core::Reply;

/// Not a `BotState`: `goto` takes only state names and the bot's own state type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Colour {
    Red,
}

fn main() {
    let _ = Reply::none().goto(Colour::Red);
}
