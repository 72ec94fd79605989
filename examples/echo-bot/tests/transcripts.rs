//! The sample bot, conversation by conversation: what a person says, what it answers, the
//! state it is in, and time passing (virtual: nothing here waits).

use std::time::Duration;

use botwire::{Member, MessageType};
use botwire_testkit::transcript::Transcript;
use echo_bot::{NOT_TEXT, Step, TEACH_PROMPT, TEACH_TIMEOUT, TIMED_OUT};

fn chat() -> Transcript {
    Transcript::new(echo_bot::bot().expect("the sample bot"))
}

#[tokio::test]
async fn it_echoes_until_taught_then_answers_what_it_learned() {
    let mut chat = chat();
    chat.says("Bonjour 2").await.answers("Bonjour 2").stays();
    chat.says("teach")
        .await
        .answers(TEACH_PROMPT)
        .moves_to(Step::Teaching);
    chat.says("ping => pong")
        .await
        .answers(r#"Got it: "ping" => "pong""#)
        .moves_to(Step::Idle);
    chat.says("ping").await.answers("pong");
    chat.says("  PING ").await.answers("pong"); // whatever the case and spacing
    chat.says("pong").await.answers("pong"); // only the phrase was taught
}

#[tokio::test]
async fn teaching_asks_again_until_it_gets_a_lesson_or_cancel() {
    let mut chat = chat();
    chat.says("TEACH")
        .await
        .answers(TEACH_PROMPT)
        .moves_to(Step::Teaching);
    chat.says("no arrow here")
        .await
        .answers(TEACH_PROMPT)
        .stays();
    chat.says(" => only an answer")
        .await
        .answers(TEACH_PROMPT)
        .stays();
    chat.says("cancel")
        .await
        .answers("OK, never mind.")
        .moves_to(Step::Idle);
    chat.says("no arrow here").await.answers("no arrow here");
}

#[tokio::test]
async fn each_conversation_learns_its_own_answers() {
    let mut here = chat();
    let mut there = here.elsewhere("another-room");
    here.says("teach").await.moves_to(Step::Teaching);
    here.says("hello => bonjour").await.moves_to(Step::Idle);
    here.says("hello").await.answers("bonjour");
    there.says("hello").await.answers("hello");
}

#[tokio::test]
async fn people_who_join_are_welcomed_by_name() {
    let mut chat = chat();
    chat.joins("Desirae")
        .await
        .answers("Welcome, Desirae!")
        .stays();
    chat.leaves("Desirae").await.answers_nothing();
    chat.says("teach").await.moves_to(Step::Teaching);
    chat.joins("Bob").await.answers("Welcome, Bob!").stays();
}

#[tokio::test]
async fn a_picture_or_a_file_gets_a_line_not_an_empty_echo() {
    let mut chat = chat();
    chat.posts(MessageType::Image, "https://example.com/cat.png")
        .await
        .answers(&format!("{NOT_TEXT} that picture."));
    chat.posts(MessageType::File, "report.pdf")
        .await
        .answers(&format!("{NOT_TEXT} that file."));
    chat.posts(MessageType::Text, "").await.answers_nothing();
}

#[tokio::test]
async fn other_bots_are_ignored_so_two_bots_never_echo_each_other() {
    let mut chat = chat().person(Member::new("b1").with_name("EchoBot2").with_bot(true));
    chat.says("hello").await.answers_nothing();
    chat.says("teach").await.answers_nothing().stays();
    chat.joins("Ann").await.answers("Welcome, Ann!");
}

#[tokio::test]
async fn teaching_times_out_after_five_quiet_minutes() {
    let mut chat = chat();
    chat.says("teach").await.moves_to(Step::Teaching);
    let minute = Duration::from_secs(60);
    chat.passes(4 * minute).await.answers_nothing().stays();
    // A message resets the clock.
    chat.says("hmm").await.answers(TEACH_PROMPT);
    chat.passes(TEACH_TIMEOUT - Duration::from_secs(1))
        .await
        .answers_nothing();
    chat.passes(Duration::from_secs(1))
        .await
        .answers(TIMED_OUT)
        .answers_containing("timed out")
        .moves_to(Step::Idle);
    // Once, not again.
    chat.passes(10 * minute).await.answers_nothing().stays();
    chat.says("ping").await.answers("ping");
}

#[tokio::test]
async fn the_timeout_is_configurable() {
    let bot = echo_bot::bot_with(Duration::from_secs(30)).expect("the sample bot");
    let mut chat = Transcript::new(bot);
    chat.says("teach").await.moves_to(Step::Teaching);
    chat.passes(Duration::from_secs(30))
        .await
        .answers(TIMED_OUT)
        .moves_to(Step::Idle);
    assert!(
        echo_bot::bot_with(Duration::ZERO).is_err(),
        "a zero timeout is refused"
    );
}
