//! moto's request recorder: which API actions a run called.

use serde_json::Value;

use super::{RecordingMoto, http};

impl RecordingMoto {
    pub fn start() -> RecordingMoto {
        Self::start_with(&[])
    }

    pub fn start_recording(&self) {
        http(
            "POST",
            &format!("{}/moto-api/recorder/reset-recording", self.url),
        )
        .unwrap();
        http(
            "POST",
            &format!("{}/moto-api/recorder/start-recording", self.url),
        )
        .unwrap();
    }

    /// The action of every recorded request, e.g. `DescribeRepositories`: its `X-Amz-Target` (JSON
    /// protocols: ECR), else the `Action` of its form body (query protocols: STS, IAM).
    pub fn recorded_actions(&self) -> Vec<String> {
        http(
            "POST",
            &format!("{}/moto-api/recorder/stop-recording", self.url),
        )
        .unwrap();
        let body = http(
            "GET",
            &format!("{}/moto-api/recorder/download-recording", self.url),
        )
        .unwrap();
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                if let Some(target) = v["headers"]["X-Amz-Target"].as_str() {
                    return target.rsplit('.').next().unwrap().to_string();
                }
                use base64::Engine;
                let body = v["body"].as_str().unwrap_or_default();
                let body = match v["body_encoded"].as_bool() {
                    Some(true) => base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default(),
                    _ => body.to_string(),
                };
                body.split('&')
                    .find_map(|p| p.strip_prefix("Action="))
                    .unwrap_or("(none)")
                    .to_string()
            })
            .collect()
    }
}
