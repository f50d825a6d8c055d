//! Soak: one `Client` through 1,000 sequential and 100 concurrent streams against the emulator
//! with faults injected at random (`fault-random`: 429s, HTML 502s, resets, silences, closes
//! before `[DONE]`). No hang (each stream bounded), every outcome a typed result, no leaked tasks
//! or file descriptors. Ignored by default: `cargo xtask soak` runs it (release build).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use quickrouter::{Client, Error};
use quickrouter_tests::{ask, builder, emulator};

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// One stream to its end: `ok`, or the kind of error it ended with.
async fn one(client: &Client, i: usize) -> &'static str {
    let run = async {
        let stream = client
            .chat()
            .stream(&ask("fault-random", &format!("soak {i}")))
            .await?;
        match stream.drain(|_, _| {}).await {
            None => Ok(()),
            Some(error) => Err(error),
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), run).await {
        Err(_) => "HUNG",
        Ok(Ok(())) => "ok",
        Ok(Err(Error::Api(e))) if e.status == Some(429) => "429 after retries",
        Ok(Err(Error::Api(_))) => "api error",
        Ok(Err(Error::Stream(_))) => "stream broken",
        Ok(Err(Error::Timeout(_))) => "timeout",
        Ok(Err(Error::Connect { .. } | Error::Network { .. })) => "network",
        Ok(Err(_)) => "other",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a soak test: run with `cargo xtask soak`"]
async fn a_thousand_faulty_streams_then_a_hundred_at_once() {
    let emu = emulator(None);
    let client = builder(&emu)
        .idle_timeout(Duration::from_millis(200))
        .timeout(Duration::from_secs(5))
        .max_retries(2)
        .build()
        .unwrap();
    // One answer first: the emulator's runtime and the client's pool open their descriptors as
    // they start, so counting before that measured a race (10 or 13), not a leak.
    client.models().list().await.expect("the emulator answers");
    let fds_before = open_fds();
    let tasks_before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();

    let started = Instant::now();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..1_000 {
        *outcomes.entry(one(&client, i).await).or_default() += 1;
    }
    let sequential = started.elapsed();

    let started = Instant::now();
    let mut concurrent: BTreeMap<&str, usize> = BTreeMap::new();
    let mut running: FuturesUnordered<_> = (0..100).map(|i| one(&client, 1_000 + i)).collect();
    while let Some(outcome) = running.next().await {
        *concurrent.entry(outcome).or_default() += 1;
    }
    let parallel = started.elapsed();
    drop(running);
    drop(client);
    // Let both ends close their sockets (the emulator notices a closed connection when it next
    // reads or writes): wait up to 5 s for the count to come back.
    let settled = Instant::now();
    while open_fds() > fds_before && settled.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fds_after = open_fds();
    let tasks_after = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();

    println!("sequential 1000 in {sequential:.2?}: {outcomes:?}");
    println!("concurrent 100 in {parallel:.2?}: {concurrent:?}");
    println!("fds {fds_before} -> {fds_after}; runtime tasks {tasks_before} -> {tasks_after}");
    assert!(!outcomes.contains_key("HUNG") && !concurrent.contains_key("HUNG"));
    assert!(!outcomes.contains_key("other") && !concurrent.contains_key("other"));
    assert_eq!(outcomes.values().sum::<usize>(), 1_000);
    assert!(
        outcomes["ok"] > 100,
        "retries turned faults into answers: {outcomes:?}"
    );
    assert!(
        fds_after <= fds_before + 2,
        "fds {fds_before} -> {fds_after}"
    );
    assert!(
        tasks_after <= tasks_before,
        "tasks {tasks_before} -> {tasks_after}"
    );
}
