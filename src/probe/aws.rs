//! The AWS configuration the AWS probes share: loaded once per run, with the credentials resolved once
//! (env, profile, SSO, web identity, container, IMDS) under the probe timeout. Every client then uses
//! those credentials, so a missing or slow credential source costs one walk of the chain per run, however
//! many probes and calls follow, and the source that answered can be named.

use std::sync::Arc;
use std::time::Duration;

use aws_config::imds::client::error::ImdsError;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::{Credentials, credential_fn::provide_credentials_fn};

/// The shared configuration, made by the first probe that asks for it.
#[derive(Debug, Clone, Default)]
pub struct SharedAws(Arc<tokio::sync::OnceCell<Aws>>);

#[derive(Debug)]
pub struct Aws {
    pub config: SdkConfig,
    /// Where the credentials came from (`Ok(None)`: the chain does not say), or why there are none, in
    /// plain words.
    pub credentials: Result<Option<String>, String>,
}

impl SharedAws {
    pub async fn get(&self, timeout: Duration) -> &Aws {
        self.0.get_or_init(|| load(timeout)).await
    }
}

pub const NO_CREDENTIALS: &str = "no AWS credentials found: env, profile, SSO, web identity, container or \
     instance role (`aws sts get-caller-identity` in this shell shows what the AWS CLI finds)";

/// How long the instance metadata service may take to connect or answer, once: off EC2 its address often
/// goes nowhere, and the SDK's default (4 attempts of 1 s each) would hold every run that has no other
/// credentials for seconds.
const IMDS_TIMEOUT: Duration = Duration::from_millis(500);

async fn load(timeout: Duration) -> Aws {
    let imds = aws_config::imds::Client::builder()
        .max_attempts(1)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .build();
    // Clients take the registry's region; the credential chain (web identity, SSO, assume-role) takes the
    // shell's, from the environment or the profile only: the SDK's default would also ask IMDS.
    let region = || {
        aws_config::meta::region::RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(aws_config::profile::ProfileFileRegionProvider::new())
    };
    let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .region(region())
        .imds_client(imds)
        .build()
        .await;
    // Explicit retry settings also keep a malformed AWS_MAX_ATTEMPTS / AWS_RETRY_MODE from panicking inside
    // aws-config.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(region())
        .credentials_provider(chain)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        // Every call is also run under `bounded(timeout, …)`, which names the call and the limit; the SDK's own
        // limit is a second later, a backstop, so the two never race to word the same timeout.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(3)))
                .operation_attempt_timeout(timeout + Duration::from_secs(1))
                .operation_timeout(timeout + Duration::from_secs(1))
                .build(),
        )
        .load()
        .await;
    let Some(chain) = config.credentials_provider() else {
        return Aws {
            config,
            credentials: Err(NO_CREDENTIALS.into()),
        };
    };
    let resolved = match tokio::time::timeout(timeout, chain.provide_credentials()).await {
        Ok(resolved) => resolved,
        Err(_) => Err(CredentialsError::provider_timed_out(timeout)),
    };
    let (provider, credentials) = match resolved {
        Ok(creds) => {
            let source = source(&creds);
            (SharedCredentialsProvider::new(creds), Ok(source))
        }
        Err(e) => {
            let (why, not_loaded) = match &e {
                CredentialsError::CredentialsNotLoaded(_) => (NO_CREDENTIALS.to_string(), true),
                CredentialsError::ProviderTimedOut(_) => (
                    format!(
                        "the AWS credential chain did not answer within {}s (instance metadata or a \
                         credential process that hangs?)",
                        timeout.as_secs_f64()
                    ),
                    false,
                ),
                // The chain ends with instance metadata: an answer from it that is not credentials
                // (a proxy's 403, IMDS turned off) means nothing before it had any either.
                other => match super::find_cause::<ImdsError>(other) {
                    Some(imds) => (
                        format!(
                            "no AWS credentials found: not in env, profile, SSO, web identity or container, \
                             and the instance metadata service gave none ({})",
                            super::error_chain(imds)
                        ),
                        false,
                    ),
                    None => (
                        format!(
                            "the AWS credentials could not be loaded: {}",
                            super::error_chain(other)
                        ),
                        false,
                    ),
                },
            };
            (failing(why.clone(), not_loaded), Err(why))
        }
    };
    Aws {
        config: config.to_builder().credentials_provider(provider).build(),
        credentials,
    }
}

/// The account and region `cdk deploy` gives an environment-agnostic stack: the caller's account (STS
/// GetCallerIdentity) and the configured region (environment or profile), as the CDK CLI resolves them.
pub async fn deploying_environment(timeout: Duration) -> Result<(String, String), String> {
    let shared = SharedAws::default();
    let aws = shared.get(timeout).await;
    aws.credentials.as_ref().map_err(Clone::clone)?;
    let region = aws.config.region().map(|r| r.to_string()).ok_or(
        "no AWS region configured (AWS_REGION, AWS_DEFAULT_REGION or the profile's region)",
    )?;
    let call = aws_sdk_sts::Client::new(&aws.config)
        .get_caller_identity()
        .send();
    let out = tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| {
            format!(
                "STS GetCallerIdentity did not answer within {}s",
                timeout.as_secs_f64()
            )
        })?
        .map_err(|e| format!("STS GetCallerIdentity: {}", super::error_chain(&e)))?;
    let account = out
        .account()
        .ok_or("STS GetCallerIdentity named no account")?;
    Ok((account.to_string(), region))
}

/// Why the run has no credentials, as the error every call then fails with: the probes say it as it is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct NoCredentials(pub String);

/// A provider that fails at once with the chain's reason, so no client walks the chain again.
fn failing(why: String, not_loaded: bool) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(provide_credentials_fn(move || {
        let why = NoCredentials(why.clone());
        async move {
            Err(if not_loaded {
                CredentialsError::not_loaded(why)
            } else {
                CredentialsError::provider_error(why)
            })
        }
    }))
}

/// The chain's provider that answered, in the words users know it by.
fn source(creds: &Credentials) -> Option<String> {
    use AwsCredentialFeature as F;
    let features = creds.get_property::<Vec<AwsCredentialFeature>>()?;
    // The first recorded feature is the outermost provider (a profile that assumes a role records the
    // profile, then the role).
    features.iter().find_map(|f| {
        Some(String::from(match f {
            F::CredentialsEnvVars => "environment variables",
            F::CredentialsEnvVarsStsWebIdToken
            | F::CredentialsProfileStsWebIdToken
            | F::CredentialsStsAssumeRoleWebId => "web identity",
            F::CredentialsProfileSso | F::CredentialsSso => "SSO",
            F::CredentialsProfileProcess | F::CredentialsProcess => "a credential_process",
            F::CredentialsHttp => "the container credentials endpoint",
            F::CredentialsImds => "instance metadata (IMDS)",
            F::CredentialsProfileLogin | F::CredentialsLogin => "aws login",
            F::CredentialsProfile
            | F::CredentialsProfileSourceProfile
            | F::CredentialsProfileNamedProvider
            | F::CredentialsStsAssumeRole => "the shared config/credentials files (profile)",
            _ => return None,
        }))
    })
}

/// `AWS_ENDPOINT_URL` and its per-service twins (`AWS_ENDPOINT_URL_ECR`, `…_STS`, `…_IAM`), checked as the
/// SDK will read them: an empty one makes aws-config panic and one that is not an http(s) URL fails every
/// call with the whole request in the message, so either is refused up front, naming the variable.
pub fn endpoint_vars(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<(), String> {
    for (name, value) in vars {
        let Some(name) = name.to_str().filter(|n| n.starts_with("AWS_ENDPOINT_URL")) else {
            continue;
        };
        let url = value
            .to_str()
            .ok_or_else(|| format!("{name}: not UTF-8 text"))?;
        let ok = url.parse::<hyper::Uri>().is_ok_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some()
        });
        if !ok {
            return Err(format!(
                "{name}='{url}': not an http(s) URL (e.g. https://ecr.us-east-1.amazonaws.com); unset it to use AWS's own endpoint"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod endpoint_tests {
    use super::endpoint_vars;

    fn check(name: &str, value: &str) -> Result<(), String> {
        endpoint_vars([(name.into(), value.into())])
    }

    #[test]
    fn endpoint_variables_must_be_http_urls() {
        assert!(check("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:5000").is_ok());
        assert!(check("AWS_ENDPOINT_URL", "https://ecr.eu-west-1.amazonaws.com").is_ok());
        assert!(
            check("AWS_REGION", "").is_ok(),
            "other variables are not read"
        );
        for bad in ["", "notaurl", "ftp://x", "http://"] {
            let e = check("AWS_ENDPOINT_URL_STS", bad).unwrap_err();
            assert!(
                e.starts_with(&format!("AWS_ENDPOINT_URL_STS='{bad}': ")),
                "{e}"
            );
        }
    }
}
