# The ecr-doctor binary and nothing else, for a COPY in another image's Dockerfile:
#
#   COPY --from=ghcr.io/ecr-doctor/ecr-doctor:0.1.0 /ecr-doctor /usr/local/bin/ecr-doctor
#
# Built by .github/workflows/release.yml from the static musl binaries of the release archives; the build
# context is a folder with amd64/ecr-doctor and arm64/ecr-doctor. The image has no CA certificates: to run
# it on its own against AWS, mount the host's (-v /etc/ssl/certs:/etc/ssl/certs:ro).
FROM scratch
ARG TARGETARCH
COPY ${TARGETARCH}/ecr-doctor /ecr-doctor
ENTRYPOINT ["/ecr-doctor"]
