//! Consumer verification end to end through the real binaries: `provenance-node dev --demo`
//! records the coffee journey, and the `provenance` CLI fetches, saves, verifies and traces the
//! retail bags' stories, trusting only the dev network's genesis file.
//!
//! - The demo bag verifies online and offline (JSON and CBOR bundles, genesis file or pinned
//!   hash); every tampering of a saved bundle (an event's content, a proof hash, the anchor
//!   header, its certificate, a dropped or reordered event, another subject) exits 1 with the
//!   failure named; an unknown product and a bad genesis file exit 2, a node that is down 3.
//! - A recall recorded with `provenance submit` and the roaster's key makes the bag unsafe
//!   (exit 1) and reaches it through `trace forward`; a bundle saved before the recall is then
//!   refused as stale because the client remembers the newer head.
//! - `provenance import` signs and submits a document's events in order, and a rerun resumes
//!   without storing anything twice.
//!
//! The binaries must be built: `cargo test --workspace` builds both, or `cargo build -p
//! provenance-node -p provenance-client` first.

use std::path::Path;

use provenance_node::demo::{GREEN_COFFEE_BAGS, PALLET, RETAIL_BAGS};
use provenance_tests::consumer::{Cli, DevNode, Run, free_addr, now_timestamp};
use serde_json::{Value, json};

/// The canonical Digital Link of an EPC URN, as the CLI and the node name it.
fn link(urn: &str) -> String {
    provenance_protocol::gs1::parse_any_epc(urn)
        .unwrap()
        .index_key()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

/// Flips the last hex digit or decimal digit of a string (a one-character change).
fn flip_last_digit(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let position = chars
        .iter()
        .rposition(char::is_ascii_hexdigit)
        .expect("a digit to flip");
    chars[position] = if chars[position] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// Verifies a saved bundle offline with the dev genesis, without remembering heads (so the
/// cases stay independent of each other).
fn verify_file(cli: &Cli, node: &DevNode, bundle: &Path) -> Run {
    cli.run([
        "verify".as_ref(),
        "--bundle".as_ref(),
        bundle.as_os_str(),
        "--genesis".as_ref(),
        node.genesis.as_os_str(),
        "--no-remember".as_ref(),
    ])
}

/// Saves a tampered copy of `original` and checks the CLI rejects it with exit 1, naming every
/// one of `needles` (sites and codes) in the failures.
#[track_caller]
fn assert_rejected(
    cli: &Cli,
    node: &DevNode,
    original: &Value,
    name: &str,
    needles: &[&str],
    tamper: impl FnOnce(&mut Value),
) {
    let mut bundle = original.clone();
    tamper(&mut bundle);
    assert_ne!(&bundle, original, "{name}: the tampering changed nothing");
    let path = node.dir().join(format!("tampered-{name}.json"));
    write_json(&path, &bundle);
    let run = verify_file(cli, node, &path);
    assert_eq!(
        run.code,
        Some(1),
        "{name}: a tampered bundle must fail\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout.starts_with("✗ FAILED"),
        "{name}: the verdict comes first\n{}",
        run.stdout
    );
    let failures = run
        .stdout
        .split("\nFailures\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{name}: no failures listed\n{}", run.stdout));
    for needle in needles {
        assert!(
            failures.contains(needle),
            "{name}: the failures should name {needle:?}\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_demo_bag_verifies_and_every_tampering_is_caught() {
    let node = DevNode::start();
    let cli = Cli::new();
    let bag = link(RETAIL_BAGS[0]);
    assert!(node.products.contains(&bag), "{:?}", node.products);
    let genesis = node.genesis.to_str().unwrap();

    // Online, by Digital Link and by EPC URN.
    let online = cli
        .run(["verify", &bag, "--node", &node.url, "--genesis", genesis])
        .expect(0);
    assert!(online.stdout.starts_with("✓ VERIFIED"), "{}", online.stdout);
    for needle in [
        "\nTimeline\n",
        "Nordic Roasters AB",
        "GreenGrocer Retail",
        "\nCustody\n",
        "\nCertifications\n",
    ] {
        assert!(
            online.stdout.contains(needle),
            "missing {needle:?}\n{}",
            online.stdout
        );
    }
    let by_urn = cli
        .command()
        .env("PROVENANCE_NODE", &node.url)
        .env("PROVENANCE_GENESIS", genesis)
        .args(["verify", RETAIL_BAGS[0], "--json"])
        .output()
        .unwrap();
    let by_urn = Run::from(by_urn).expect(0);
    let verdict: Value = serde_json::from_str(&by_urn.stdout).expect("--json prints only JSON");
    assert_eq!(verdict["status"], "verified");
    assert_eq!(verdict["subject"], json!(bag));
    assert!(!verdict["story"]["steps"].as_array().unwrap().is_empty());
    assert_eq!(verdict["failures"], json!([]));

    // Saved (JSON and CBOR) and verified offline, with the genesis file or its pinned hash.
    let saved = node.dir().join("bag.json");
    cli.run([
        "bundle",
        &bag,
        "--node",
        &node.url,
        "-o",
        saved.to_str().unwrap(),
    ])
    .expect(0);
    let cbor = node.dir().join("bag.cbor");
    cli.run([
        "bundle",
        RETAIL_BAGS[0],
        "--node",
        &node.url,
        "-o",
        cbor.to_str().unwrap(),
    ])
    .expect(0);
    assert_eq!(std::fs::read(&cbor).unwrap()[0] & 0xe0, 0xa0, "CBOR map");
    verify_file(&cli, &node, &saved).expect(0);
    verify_file(&cli, &node, &cbor).expect(0);
    cli.run([
        "verify",
        "--bundle",
        saved.to_str().unwrap(),
        "--genesis-hash",
        &node.genesis_hash,
        RETAIL_BAGS[0],
    ])
    .expect(0);

    // Tampering, each on a fresh copy.
    let original = read_json(&saved);
    let events = original["events"].as_array().unwrap().len();
    assert!(events >= 4, "{events} events");
    let middle = events / 2;
    assert_rejected(
        &cli,
        &node,
        &original,
        "event-content",
        &[
            &format!("✗ event #{middle} (ni:///sha-256;"),
            "[hash_mismatch]",
        ],
        |b| {
            let time = b["events"][middle]["record"]["event"]["eventTime"]
                .as_str()
                .unwrap()
                .to_owned();
            b["events"][middle]["record"]["event"]["eventTime"] = json!(flip_last_digit(&time));
        },
    );
    let with_path = original["events"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| !e["path"].as_array().unwrap().is_empty())
        .expect("an event with a non-empty inclusion path");
    assert_rejected(
        &cli,
        &node,
        &original,
        "proof-hash",
        &[&format!("✗ event #{with_path} ("), "[bad_inclusion_proof]"],
        |b| {
            let hash = b["events"][with_path]["path"][0]
                .as_str()
                .unwrap()
                .to_owned();
            b["events"][with_path]["path"][0] = json!(flip_last_digit(&hash));
        },
    );
    assert_rejected(
        &cli,
        &node,
        &original,
        "anchor-header",
        &["✗ anchor [bad_certificate]"],
        |b| {
            let root = b["anchor"]["header"]["log_root"]
                .as_str()
                .unwrap()
                .to_owned();
            b["anchor"]["header"]["log_root"] = json!(flip_last_digit(&root));
        },
    );
    assert_rejected(
        &cli,
        &node,
        &original,
        "certificate",
        &["✗ anchor [bad_certificate]", "does not verify"],
        |b| {
            let signature = b["anchor"]["certificate"]["signatures"][0]["signature"]
                .as_str()
                .unwrap()
                .to_owned();
            b["anchor"]["certificate"]["signatures"][0]["signature"] =
                json!(flip_last_digit(&signature));
        },
    );
    assert_rejected(
        &cli,
        &node,
        &original,
        "dropped-event",
        &["✗ event #"],
        |b| {
            b["events"].as_array_mut().unwrap().remove(middle);
        },
    );
    assert_rejected(
        &cli,
        &node,
        &original,
        "swapped-events",
        &["[events_out_of_order]"],
        |b| {
            b["events"].as_array_mut().unwrap().swap(middle, middle + 1);
        },
    );
    // A valid bundle presented for another product.
    let other = cli.run([
        "verify",
        "--bundle",
        saved.to_str().unwrap(),
        "--genesis",
        genesis,
        "--no-remember",
        RETAIL_BAGS[1],
    ]);
    let other = other.expect(1);
    assert!(
        other.stdout.contains("\nFailures\n  ✗ bundle ["),
        "{}",
        other.stdout
    );

    // Input errors: an unknown product, a bad genesis file, a malformed bundle; the node down.
    let unknown = cli
        .run([
            "verify",
            "urn:epc:id:sgtin:0614141.107346.NOPE",
            "--node",
            &node.url,
            "--genesis",
            genesis,
        ])
        .expect(2);
    assert!(
        unknown.stderr.contains("404 not_found"),
        "{}",
        unknown.stderr
    );
    let bad_genesis = node.dir().join("bad-genesis.json");
    std::fs::write(&bad_genesis, "{\"chain_id\": \"x\"}").unwrap();
    let bad = cli
        .run([
            "verify",
            &bag,
            "--node",
            &node.url,
            "--genesis",
            bad_genesis.to_str().unwrap(),
        ])
        .expect(2);
    assert!(
        bad.stderr.contains("is not a genesis document"),
        "{}",
        bad.stderr
    );
    let garbage = node.dir().join("garbage.json");
    std::fs::write(&garbage, "{\"version\": 1}").unwrap();
    verify_file(&cli, &node, &garbage).expect(2);
    let down = cli
        .run([
            "verify",
            &bag,
            "--node",
            &format!("http://{}", free_addr()),
            "--genesis",
            genesis,
        ])
        .expect(3);
    assert!(
        down.stderr.contains("cannot reach the node"),
        "{}",
        down.stderr
    );
    cli.run(["verify", &bag, "--genesis", genesis]).expect(2);

    // Trace back from the bag reaches the green coffee and the pallet, verified.
    let back = cli
        .run([
            "trace",
            "back",
            &bag,
            "--node",
            &node.url,
            "--genesis",
            genesis,
        ])
        .expect(0);
    assert!(
        back.stdout.contains(&link(GREEN_COFFEE_BAGS[0])),
        "{}",
        back.stdout
    );
    assert!(back.stdout.contains(&link(PALLET)), "{}", back.stdout);
}

#[test]
fn a_recall_makes_the_bag_unsafe_and_older_bundles_stale() {
    let node = DevNode::start();
    let cli = Cli::new();
    let bag = link(RETAIL_BAGS[2]);
    let genesis = node.genesis.to_str().unwrap();
    let before = node.dir().join("before-recall.json");
    cli.run([
        "bundle",
        &bag,
        "--node",
        &node.url,
        "-o",
        before.to_str().unwrap(),
    ])
    .expect(0);
    cli.run(["verify", &bag, "--node", &node.url, "--genesis", genesis])
        .expect(0);

    // The roaster, who made the bags, recalls one: signed locally with its dev key file.
    let recall = node.dir().join("recall.json");
    write_json(
        &recall,
        &json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "ObjectEvent",
            "eventTime": now_timestamp(),
            "eventTimeZoneOffset": "+00:00",
            "epcList": [RETAIL_BAGS[2]],
            "action": "OBSERVE",
            "bizStep": "holding",
            "disposition": "recalled"
        }),
    );
    let log_size = node.status()["log_size"].as_u64().unwrap();
    let roaster = node.key("nordic-roasters");
    let submitted = cli
        .run([
            "submit",
            recall.to_str().unwrap(),
            "--key",
            roaster.to_str().unwrap(),
            "--node",
            &node.url,
        ])
        .expect(0);
    assert!(
        submitted.stdout.starts_with("accepted: ni:///sha-256;"),
        "{}",
        submitted.stdout
    );
    // Submitting the same file again is idempotent.
    let again = cli
        .run([
            "submit",
            recall.to_str().unwrap(),
            "--key",
            roaster.to_str().unwrap(),
            "--node",
            &node.url,
        ])
        .expect(0);
    assert_eq!(again.stdout, submitted.stdout);
    node.wait_final(log_size + 1);

    let unsafe_now = cli
        .run(["verify", &bag, "--node", &node.url, "--genesis", genesis])
        .expect(1);
    assert!(
        unsafe_now.stdout.starts_with("⚠ UNSAFE"),
        "{}",
        unsafe_now.stdout
    );
    assert!(
        unsafe_now.stdout.contains("RECALLED by Nordic Roasters AB"),
        "{}",
        unsafe_now.stdout
    );

    // The recall reaches the bag from the green coffee it was roasted from.
    let forward = cli
        .run([
            "trace",
            "forward",
            GREEN_COFFEE_BAGS[0],
            "--node",
            &node.url,
            "--genesis",
            genesis,
            "--json",
        ])
        .expect(1);
    let traced: Value = serde_json::from_str(&forward.stdout).unwrap();
    assert_eq!(traced["verdict"]["status"], "unsafe");
    let reached: Vec<&str> = traced["reached"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identifier"].as_str().unwrap())
        .collect();
    for retail in RETAIL_BAGS {
        assert!(
            reached.contains(&link(retail).as_str()),
            "{retail} not in {reached:?}"
        );
    }

    // The client has now seen a newer head: the bundle from before the recall is stale.
    let stale = cli
        .run([
            "verify",
            "--bundle",
            before.to_str().unwrap(),
            "--genesis",
            genesis,
        ])
        .expect(1);
    assert!(stale.stdout.contains("stale_anchor"), "{}", stale.stdout);
    assert!(
        stale.stderr.contains("has verified block"),
        "{}",
        stale.stderr
    );
    // Without the remembered head, the old bundle is authentic (it just predates the recall).
    cli.run([
        "verify",
        "--bundle",
        before.to_str().unwrap(),
        "--genesis",
        genesis,
        "--no-remember",
    ])
    .expect(0);

    // A node that withholds the recall but anchors after it serves a bundle that verifies on
    // its own (completeness cannot be proven); asking a second node exposes the omission.
    let fresh = node.dir().join("fresh.json");
    cli.run([
        "bundle",
        &bag,
        "--node",
        &node.url,
        "-o",
        fresh.to_str().unwrap(),
    ])
    .expect(0);
    let mut withheld = read_json(&fresh);
    let recall_event = withheld["events"].as_array_mut().unwrap().pop().unwrap();
    assert!(
        recall_event["record"]["event"]
            .to_string()
            .contains("recalled"),
        "the newest event of the story is the recall"
    );
    let withheld_path = node.dir().join("withheld.json");
    write_json(&withheld_path, &withheld);
    let alone = [
        "verify",
        "--bundle",
        withheld_path.to_str().unwrap(),
        "--genesis",
        genesis,
        "--no-remember",
    ];
    cli.run(alone).expect(0);
    let crossed = cli
        .run(
            alone
                .into_iter()
                .chain(["--cross-check", node.url.as_str()]),
        )
        .expect(1);
    assert!(
        crossed.stdout.contains("omitted_event") && crossed.stdout.contains("withheld"),
        "{}",
        crossed.stdout
    );
}

#[test]
fn import_submits_a_document_in_order_and_a_rerun_resumes() {
    let node = DevNode::start();
    let cli = Cli::new();
    let now = now_timestamp();
    let events: Vec<Value> = (0..7)
        .map(|i| {
            json!({
                "type": "ObjectEvent",
                "eventTime": now,
                "eventTimeZoneOffset": "+00:00",
                "epcList": [format!("urn:epc:id:sgtin:0614141.107346.IMPORT-{i}")],
                "action": "ADD",
                "bizStep": "commissioning",
                "disposition": "active",
                "esperanza:plot": format!("plot-{i}")
            })
        })
        .collect();
    let document = json!({
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"esperanza": "https://ns.fincalaesperanza.example/epcis/"}
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": now,
        "epcisBody": {"eventList": events}
    });
    let file = node.dir().join("harvest.jsonld");
    write_json(&file, &document);
    let farm = node.key("finca-la-esperanza");
    let log_size = node.status()["log_size"].as_u64().unwrap();
    let args = [
        "import",
        file.to_str().unwrap(),
        "--key",
        farm.to_str().unwrap(),
        "--node",
        &node.url,
        "--batch",
        "3",
    ];
    let first = cli.run(args).expect(0);
    assert!(
        first.stdout.starts_with("imported 7 events from"),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("imported 7/7 events"),
        "{}",
        first.stderr
    );
    node.wait_final(log_size + 7);

    // A rerun resends identical records; the node acknowledges them and stores nothing twice.
    cli.run(args).expect(0);
    // So does a rerun from another machine (no journal): the node's answers recover the
    // sequence.
    let elsewhere = Cli::new();
    let recovered = elsewhere.run(args).expect(0);
    assert!(
        recovered.stdout.contains("(7 already recorded)"),
        "{}",
        recovered.stdout
    );
    node.wait_final(log_size + 7);
    assert_eq!(node.status()["log_size"].as_u64().unwrap(), log_size + 7);

    // The imported items verify.
    cli.run([
        "verify",
        "urn:epc:id:sgtin:0614141.107346.IMPORT-3",
        "--node",
        &node.url,
        "--genesis",
        node.genesis.to_str().unwrap(),
    ])
    .expect(0);
}
