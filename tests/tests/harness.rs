//! The test harness itself: the Runtime API stand-in drives a real binary against moto.

use std::time::Duration;

use switchyard_e2e::moto::Moto;
use switchyard_e2e::runtime_api::{FunctionProcess, Outcome, RuntimeApi, binary};

#[tokio::test]
async fn runtime_api_drives_a_real_function_against_moto() {
    let moto = Moto::start();
    moto.create_secret("baseline", "twelve chars").await;
    let api = RuntimeApi::start().await;
    let mut env = moto.env();
    env.push(("SECRET_ID".into(), "baseline".into()));
    let mut process = FunctionProcess::start(&binary("switchyard-baseline"), &api, &env);

    let first_poll = api.wait_first_poll(Duration::from_secs(20)).await;
    assert!(
        first_poll.is_some(),
        "function never polled: {:?}",
        process.output()
    );

    for _ in 0..2 {
        let answer = api
            .invoke(
                &serde_json::json!({"hello": "world"}),
                Duration::from_secs(10),
            )
            .await;
        assert_eq!(
            answer,
            Outcome::Response(serde_json::json!({"secret_length": 12}))
        );
    }
    assert!(process.is_running(), "function exited after answering");
}

#[tokio::test]
async fn a_function_that_cannot_start_reports_init_error() {
    let moto = Moto::start();
    let api = RuntimeApi::start().await;
    let mut env = moto.env();
    env.push(("SECRET_ID".into(), "does-not-exist".into()));
    let mut process = FunctionProcess::start(&binary("switchyard-baseline"), &api, &env);
    let exited = process.wait_exit(Duration::from_secs(10)).await;
    assert!(exited, "baseline should exit when its secret is missing");
    assert!(
        api.first_poll().is_none(),
        "it must not poll for work without its secret"
    );
}
