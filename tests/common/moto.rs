//! The ECR API of moto, through the real aws-sdk-ecr: the fixture side (it may create and put).

use aws_sdk_ecr::config::Credentials;
use aws_sdk_ecr::types::ImageTagMutability;

use super::{REGION, peers, wildcard_filters};

pub struct Moto {
    pub client: aws_sdk_ecr::Client,
    pub rt: tokio::runtime::Runtime,
}

impl Moto {
    pub fn new(url: &str) -> Moto {
        Moto::as_caller(url, Credentials::new("test", "test", None, None, "tests"))
    }

    /// moto as the account of these credentials: it keeps one ECR backend per calling account.
    pub fn as_caller(url: &str, credentials: Credentials) -> Moto {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = rt.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(REGION))
                .endpoint_url(url)
                .credentials_provider(credentials)
                .load(),
        );
        Moto {
            client: aws_sdk_ecr::Client::new(&config),
            rt,
        }
    }

    /// Creates a repository with a mutability mode and WILDCARD exclusion filters.
    pub fn create_repository(&self, name: &str, mode: &str, filters: &[&str]) {
        let req = self
            .client
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::from(mode))
            .set_image_tag_mutability_exclusion_filters(wildcard_filters(filters));
        self.rt
            .block_on(req.send())
            .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
    }
}

pub fn moto() -> Moto {
    Moto::new(peers().moto_url())
}
