//! The product page end to end, the way a consumer meets it: `provenance-node dev --demo` runs as
//! a real process and records the coffee journey, then Debian's headless `chromium` opens the
//! GS1 Digital Link of a retail bag on the node (`http://<api>/01/{gtin}/21/{serial}`).
//!
//! The test reads the DOM the browser built (the verdict, the maker, the certificate, every step
//! of the journey, the temperature chart) and keeps screenshots at phone and desktop widths as
//! artefacts under `target/artefacts/product-page-*.png` for people to look at. Then the roaster
//! recalls another bag, and that bag's page must say Unsafe with the recall first
//! (`product-page-unsafe.png`).
//!
//! Needs a Chromium (`.ci/run` installs Debian's); without one the test fails and says how to
//! install it, unless `PROVENANCE_SKIP_BROWSER=1`, in which case only the HTML the node serves is
//! checked, over plain HTTP.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use provenance_node::demo;
use provenance_node::devnet::{self, CERTIFIER, PARTICIPANTS, ROASTER};
use provenance_protocol::record::SignedEvent;
use provenance_tests::browser::{Chromium, png_size};
use provenance_tests::testnet::node_binary;
use provenance_tests::workspace_root;
use serde_json::{Value, json};

/// How long `dev --demo` may take to start, record the journey and finalise it.
const JOURNEY_TIMEOUT: Duration = Duration::from_secs(90);
/// Screenshots: (file suffix, width, height) in CSS pixels. The phone is a common Android size;
/// its full-length shot shows the whole page.
const SCREENSHOTS: [(&str, u32, u32); 3] = [
    ("phone", 412, 2400),
    ("phone-full", 412, 7000),
    ("desktop", 1280, 4000),
];
/// The recalled bag's page, first screen on a phone.
const UNSAFE_SCREENSHOT: (&str, u32, u32) = ("unsafe", 412, 1600);
/// A blank or error page compresses to a few kilobytes; the product page is far richer.
const MIN_SCREENSHOT_BYTES: u64 = 20_000;

/// A `provenance-node dev --demo` process; stopped (SIGINT, then SIGKILL) when dropped.
#[derive(Debug)]
struct DevNode {
    child: Child,
    addr: String,
    data_dir: PathBuf,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl DevNode {
    /// Starts the node and waits until the whole journey is final and the first retail bag's
    /// page answers.
    fn start() -> DevNode {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data_dir = dir.path().join("dev");
        let log_path = dir.path().join("node.log");
        let log = std::fs::File::create(&log_path).expect("a log file");
        let addr = free_addr();
        let child = Command::new(node_binary())
            .args(["dev", "--demo", "--data-dir"])
            .arg(&data_dir)
            .args(["--api-listen", &addr, "--metrics-listen", "off"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log file handle"))
            .stderr(log)
            .spawn()
            .expect("provenance-node starts");
        let mut node = DevNode {
            child,
            addr,
            data_dir,
            log_path,
            _dir: dir,
        };
        node.wait_for_journey();
        node
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// demo.json, the node's own record of what it set up.
    fn demo_file(&self) -> Value {
        let text = std::fs::read_to_string(self.data_dir.join("demo.json")).expect("demo.json");
        serde_json::from_str(&text).expect("demo.json is JSON")
    }

    fn wait_for_journey(&mut self) {
        let events = u64::try_from(demo::journey(0).len()).unwrap_or(u64::MAX);
        let page = self.url(&demo::product_page_paths()[0]);
        let deadline = Instant::now() + JOURNEY_TIMEOUT;
        loop {
            let final_journey = get(&self.url("/v1/status"), "application/json")
                .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
                .is_some_and(|status| {
                    status["mempool_size"] == 0
                        && status["log_size"].as_u64().unwrap_or(0) >= events
                });
            if final_journey
                && self.data_dir.join("demo.json").exists()
                && get(&page, "text/html").is_some_and(|(code, _)| code == 200)
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "provenance-node dev --demo exited ({status}) before the journey was final; its log:\n{}",
                    self.log()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "after {}s the journey was still not final or {page} did not answer 200; the node's log:\n{}",
                    JOURNEY_TIMEOUT.as_secs(),
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn log_size(&self) -> u64 {
        get(&self.url("/v1/status"), "application/json")
            .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
            .and_then(|status| status["log_size"].as_u64())
            .unwrap_or(0)
    }

    /// The roaster recalls `bag` (signed with its dev key, as its next event) and the recall is
    /// final.
    fn recall(&self, bag: &str) {
        let roaster = devnet::participant(ROASTER).expect("the roaster is a dev participant");
        let key_path = self
            .data_dir
            .join(devnet::KEYS_DIR)
            .join(format!("{}.key", roaster.slug));
        let key = provenance_client::keyfile::load_key_file(&key_path)
            .unwrap_or_else(|e| panic!("{}: {e}", key_path.display()));
        let sequence = demo::journey(0)
            .iter()
            .filter(|step| step.actor == ROASTER)
            .count() as u64
            + 1;
        let chain_id = self.demo_chain_id();
        let recall = json!({
            "@context": [demo::EPCIS_CONTEXT],
            "type": "ObjectEvent",
            "eventTime": now_timestamp(),
            "eventTimeZoneOffset": "+00:00",
            "epcList": [bag],
            "action": "OBSERVE",
            "bizStep": "holding",
            "disposition": "recalled"
        });
        let signed =
            SignedEvent::sign(&key, &chain_id, sequence, &recall).expect("a signed recall");
        let before = self.log_size();
        let body = serde_json::to_string(&[signed]).expect("JSON");
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(10)))
                .http_status_as_error(false)
                .build(),
        );
        let mut response = agent
            .post(&self.url("/v1/events"))
            .header("Content-Type", "application/json")
            .send(body)
            .expect("the node answers");
        let status = response.status().as_u16();
        let answer = response.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(status, 202, "the recall was refused: {answer}");
        let deadline = Instant::now() + JOURNEY_TIMEOUT;
        while self.log_size() <= before {
            assert!(
                Instant::now() < deadline,
                "the recall was not final after {}s; the node's log:\n{}",
                JOURNEY_TIMEOUT.as_secs(),
                self.log()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    fn demo_chain_id(&self) -> String {
        let text =
            std::fs::read_to_string(self.data_dir.join("genesis.json")).expect("genesis.json");
        let genesis: Value = serde_json::from_str(&text).expect("genesis.json is JSON");
        genesis["chain_id"].as_str().expect("a chain id").to_owned()
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Now as an EPCIS timestamp (UTC, milliseconds).
fn now_timestamp() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let days = i64::try_from(ms / 86_400_000).unwrap_or(0);
    let in_day = ms % 86_400_000;
    // H. Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

fn free_addr() -> String {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .to_string()
}

/// GET with an `Accept` header: (status, body), whatever the status; `None` if unreachable.
fn get(url: &str, accept: &str) -> Option<(u16, String)> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build(),
    );
    let response = agent.get(url).header("Accept", accept).call().ok()?;
    let status = response.status().as_u16();
    let body = response.into_body().read_to_string().ok()?;
    Some((status, body))
}

/// What the page of the first retail bag must show, whether the browser built the DOM or the
/// test only fetched the HTML.
fn assert_product_page(html: &str, genesis_hash: &str) {
    let must = |text: &str, what: &str| {
        assert!(
            html.contains(text),
            "the page lacks {what} ({text:?}):\n{html}"
        );
    };
    must("<html lang=\"en\"", "its language");
    must("class=\"verdict verdict-verified\"", "the Verified banner");
    must(">Verified<", "the word Verified");
    must(ROASTER, "the maker");
    must("Made by", "who made it");
    must(demo::ORGANIC_STANDARD, "the certification standard");
    must(CERTIFIER, "the certifier");
    must(
        "https://certificates.ecocert.example/EU-ORG-CO-2025-0042",
        "the certificate",
    );
    let steps = demo::journey(0).len();
    let shown = html.matches("<li class=\"step").count();
    assert_eq!(
        shown, steps,
        "every step of the journey is on the page:\n{html}"
    );
    for participant in PARTICIPANTS {
        must(participant.name, "every organisation of the journey");
    }
    must("<svg", "the temperature chart");
    must("role=\"img\"", "the chart's role");
    must("<table class=\"readings\">", "the readings table");
    assert!(
        !html.contains("point out"),
        "no reading of the demo is outside its limits:\n{html}"
    );
    assert!(
        !html.contains("These checks failed"),
        "the demo verifies without failures:\n{html}"
    );
    must(genesis_hash, "the genesis hash to pin");
    must("provenance verify", "the independent check");
    assert!(!html.contains("<script"), "the page runs no script");
}

#[test]
fn a_retail_bag_has_a_verified_product_page_in_a_real_browser() {
    let browser = Chromium::find();
    let node = DevNode::start();
    let genesis_hash = node.demo_file()["genesis_hash"]
        .as_str()
        .expect("demo.json names the genesis hash")
        .to_owned();
    let path = &demo::product_page_paths()[0];
    let url = node.url(path);

    let Some(browser) = browser else {
        eprintln!(
            "PROVENANCE_SKIP_BROWSER=1: skipping the browser; checking only the HTML {url} serves"
        );
        let (status, html) = get(&url, "text/html").expect("the page answers");
        assert_eq!(status, 200, "{html}");
        assert_product_page(&html, &genesis_hash);
        return;
    };

    let dom = browser
        .dump_dom(&url)
        .unwrap_or_else(|e| panic!("{e}\nthe node's log:\n{}", node.log()));
    assert_product_page(&dom, &genesis_hash);

    let artefacts = workspace_root().join("target").join("artefacts");
    std::fs::create_dir_all(&artefacts)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", artefacts.display()));
    for (name, width, height) in SCREENSHOTS {
        let file = artefacts.join(format!("product-page-{name}.png"));
        browser
            .screenshot(&url, width, height, &file)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_screenshot(&file, width, height);
        eprintln!("screenshot: {}", file.display());
    }

    // The roaster recalls the last bag (still on the shelf): its page turns Unsafe, recall first.
    let recalled = demo::RETAIL_BAGS[2];
    node.recall(recalled);
    let recalled_path = demo::product_page_paths()[2].clone();
    let recalled_url = node.url(&recalled_path);
    let dom = browser
        .dump_dom(&recalled_url)
        .unwrap_or_else(|e| panic!("{e}\nthe node's log:\n{}", node.log()));
    for (text, what) in [
        ("class=\"verdict verdict-unsafe\"", "the Unsafe banner"),
        (">Unsafe<", "the word Unsafe"),
        ("class=\"recall\"", "the recall section"),
        ("Do not use this product.", "the advice"),
    ] {
        assert!(
            dom.contains(text),
            "the recalled bag's page lacks {what}:\n{dom}"
        );
    }
    let recall_at = dom.find("class=\"recall\"").unwrap_or(usize::MAX);
    let product_at = dom.find("id=\"product\"").unwrap_or(0);
    assert!(
        recall_at < product_at,
        "the recall comes before the product"
    );
    let (name, width, height) = UNSAFE_SCREENSHOT;
    let file = artefacts.join(format!("product-page-{name}.png"));
    browser
        .screenshot(&recalled_url, width, height, &file)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_screenshot(&file, width, height);
    eprintln!("screenshot: {}", file.display());

    // The first bag's story does not include that recall.
    let dom = browser.dump_dom(&url).unwrap_or_else(|e| panic!("{e}"));
    assert!(dom.contains("class=\"verdict verdict-verified\""), "{dom}");
}

/// The PNG exists, has the window's size, and holds more than a blank page.
fn assert_screenshot(file: &Path, width: u32, height: u32) {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(
        png_size(&bytes),
        Some((width, height)),
        "{} is not a {width}×{height} PNG",
        file.display()
    );
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    assert!(
        size > MIN_SCREENSHOT_BYTES,
        "{} is only {size} bytes: a blank or error page?",
        file.display()
    );
}
