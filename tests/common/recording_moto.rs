//! A moto server of a test's own (to record its calls, or to enforce IAM), and the IAM users it knows.

use std::process::Command;
use std::time::{Duration, Instant};

use super::{peers, request};

/// A moto server of the test's own, with the request recorder on: for counting and classifying the
/// calls ecr-doctor makes, with no other test's traffic mixed in. Stopped on drop.
pub struct RecordingMoto {
    pub url: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl RecordingMoto {
    /// With extra environment for moto, e.g. `INITIAL_NO_AUTH_ACTION_COUNT` to enforce IAM after N calls.
    pub fn start_with(env: &[(&str, &str)]) -> RecordingMoto {
        let bin = peers()
            .var("ECR_DOCTOR_TEST_MOTO_BIN")
            .unwrap_or("moto_server")
            .to_string();
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http("GET", &format!("{url}/moto-api/data.json")).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {url}");
            std::thread::sleep(Duration::from_millis(100));
        }
        RecordingMoto {
            url,
            child,
            _dir: dir,
        }
    }
}

impl Drop for RecordingMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a 200 answer to `method url`.
pub fn http(method: &str, url: &str) -> Result<String, String> {
    http_with(method, url, &[], "")
}

/// `http` with extra headers and a body.
pub fn http_with(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or("http only")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let reply = request(host, method, &path, headers, body.as_bytes())?;
    if reply.status != 200 {
        return Err(format!("HTTP {}: {}", reply.status, reply.body));
    }
    Ok(reply.body)
}

/// An IAM user of moto allowed only `actions`, through moto's IAM query API (fixture side). Returns its
/// access key and secret.
pub fn iam_user(moto: &RecordingMoto, actions: &[&str]) -> (String, String) {
    let call = |params: &str| {
        let auth = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", auth),
        ];
        http_with(
            "POST",
            &format!("{}/", moto.url),
            &headers,
            &format!("{params}&Version=2010-05-08"),
        )
        .unwrap()
    };
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }]
    })
    .to_string();
    let encoded: String = policy.bytes().map(|b| format!("%{b:02X}")).collect();
    call("Action=CreateUser&UserName=pusher");
    call(&format!(
        "Action=PutUserPolicy&UserName=pusher&PolicyName=push-only&PolicyDocument={encoded}"
    ));
    let xml = call("Action=CreateAccessKey&UserName=pusher");
    let tag = |name: &str| {
        xml.split(&format!("<{name}>"))
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap()
            .to_string()
    };
    (tag("AccessKeyId"), tag("SecretAccessKey"))
}
