//! Tag mutability exclusion filters as the ECR API takes them.

use aws_sdk_ecr::types::{
    ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
};

/// `imageTagMutabilityExclusionFilters` of WILDCARD filters; `None` for none (ECR rejects an empty list).
pub fn wildcard_filters(filters: &[&str]) -> Option<Vec<ImageTagMutabilityExclusionFilter>> {
    let filters: Vec<_> = filters
        .iter()
        .map(|f| {
            ImageTagMutabilityExclusionFilter::builder()
                .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                .filter(*f)
                .build()
                .expect("filter type and value are set")
        })
        .collect();
    (!filters.is_empty()).then_some(filters)
}
