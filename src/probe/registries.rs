//! The private ECR registries the docker config names, for the onboarding checklist: the keys of `auths` and
//! `credHelpers`, and the hosts the `credsStore` lists. Each is resolved and its login verified exactly as a
//! pushed reference's registry is (credentials.rs, registry.rs), and the AWS identity is asked once per region
//! as for aws-identity (identity.rs); registries and regions concurrently, every call bounded.

use std::collections::{BTreeMap, HashMap};

use ecr_doctor_checks::facts::{
    AwsIdentity, ConfiguredRegistries, ConfiguredRegistry, CredentialSource, Fact, Facts,
};
use ecr_doctor_checks::reference::EcrHost;

use super::credentials::{self, DockerConfig};
use super::{Fill, NotGathered, Plan, bounded, registry};

pub fn not_gathered(facts: &mut Facts, why: &NotGathered) {
    facts.registries = why.fact();
}

pub async fn probe(plan: &Plan) -> Fill {
    let (shown, config) = credentials::load_config();
    let found = match config {
        Err(why) => Fact::unavailable(why),
        Ok((config, load_error)) => {
            Fact::observed(registries(plan, &config, load_error, shown).await)
        }
    };
    Box::new(move |facts| facts.registries = found)
}

async fn registries(
    plan: &Plan,
    config: &DockerConfig,
    load_error: Option<String>,
    config_path: String,
) -> ConfiguredRegistries {
    let mut named: BTreeMap<String, Vec<CredentialSource>> = BTreeMap::new();
    let mut name = |host: &str, source| {
        let sources = named.entry(host.to_string()).or_default();
        if !sources.contains(&source) {
            sources.push(source);
        }
    };
    for key in config.cred_helpers.keys() {
        name(key, CredentialSource::CredHelpers);
    }
    for key in config.auths.keys() {
        name(
            credentials::convert_to_hostname(key),
            CredentialSource::Auths,
        );
    }
    let store = config.creds_store.as_deref().filter(|s| !s.is_empty());
    let store_list_error = match store {
        None => None,
        Some(store) => match credentials::list(&format!("docker-credential-{store}"), plan).await {
            Ok(hosts) => {
                hosts
                    .iter()
                    .for_each(|h| name(h, CredentialSource::CredsStore));
                None
            }
            Err(why) => Some(why),
        },
    };
    named.retain(|host, _| EcrHost::parse(host).is_some());

    let env_auths = credentials::env_auths();
    let tls = match credentials::login_not_checked(plan) {
        None => Ok(registry::tls_config(&plan.login.extra_roots)),
        Some(why) => Err(why),
    };
    let mut regions: Vec<String> = named
        .keys()
        .filter_map(|host| EcrHost::parse(host).map(|h| h.region))
        .collect();
    regions.sort_unstable();
    regions.dedup();
    let (env_auths, tls, config_path_ref, load_error) =
        (&env_auths, &tls, &config_path, &load_error);
    let each = named.into_iter().map(|(host, named_in)| async move {
        let (mut credentials, secret) =
            credentials::for_host(config, env_auths.as_ref(), &host, config_path_ref, plan).await;
        credentials.load_error = load_error.clone();
        let registry = match tls {
            Err(why) => Fact::skipped(why.clone()),
            Ok(tls) => {
                Fact::observed(registry::probe(&host, secret.as_ref(), plan, tls.clone()).await)
            }
        };
        (host, named_in, credentials, registry)
    });
    let (found, identities) = tokio::join!(
        futures_util::future::join_all(each),
        identities(plan, regions)
    );
    let registries = found
        .into_iter()
        .map(|(host, named_in, credentials, registry)| {
            let identity = EcrHost::parse(&host)
                .and_then(|h| identities.get(&h.region).cloned())
                .unwrap_or_else(|| Fact::unavailable("not an ECR registry host"));
            ConfiguredRegistry {
                host,
                named_in,
                credentials,
                registry,
                identity,
            }
        })
        .collect();
    ConfiguredRegistries {
        config_path,
        store_list_error,
        registries,
    }
}

/// STS GetCallerIdentity once per region, concurrently (skipped with `--offline`).
async fn identities(plan: &Plan, regions: Vec<String>) -> HashMap<String, Fact<AwsIdentity>> {
    if plan.offline {
        let why = "--offline: no AWS calls were made";
        return regions
            .into_iter()
            .map(|r| (r, Fact::skipped(why)))
            .collect();
    }
    if regions.is_empty() {
        return HashMap::new();
    }
    let aws = plan.aws.get(plan.timeout).await;
    let calls = regions.into_iter().map(|region| async move {
        let fact = match &aws.credentials {
            Err(why) => Fact::unavailable(why.clone()),
            Ok(source) => {
                let what = format!("STS in {region} (GetCallerIdentity)");
                bounded(
                    plan.timeout,
                    &what,
                    super::identity::caller(aws, &region, source),
                )
                .await
            }
        };
        (region, fact)
    });
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .collect()
}
