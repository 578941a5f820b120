# shellcheck shell=bash
# ecr_api ACTION JSON: one ECR API call to the test peers' moto server ($ECR_DOCTOR_TEST_MOTO_URL), for
# fixture setup in scripts (ecr-doctor itself only reads). moto picks the service and region from the SigV4
# credential scope and does not check the signature; without an Authorization header at all it answers as
# S3, with 200, and does nothing.
ecr_api() {
	curl -sf -X POST "$ECR_DOCTOR_TEST_MOTO_URL" \
		-H "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.$1" \
		-H 'Content-Type: application/x-amz-json-1.1' \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0' \
		-d "$2"
}
