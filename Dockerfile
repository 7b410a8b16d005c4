# linkdock in an empty image: one static (musl) binary, its data in the /data volume.
#   docker build -t linkdock \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run -p 8080:8080 -v linkdock-data:/data -e LINKDOCK_ADMIN_PASSWORD=... linkdock
# .ci/container builds the binary outside and stands in for the `build` stage with
# `podman build --build-context build=DIR`: keep the paths copied from `build` in step with it.
# .ci/hadolint lints this file (rules and required labels: .hadolint.yaml).

FROM rust:1-bookworm AS build
# musl-tools is whatever the base image's Debian release carries: a pinned version would stop
# the build at Debian's next security update, and the base image tag already fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl \
 && mkdir -p /rootfs/data
# The volume's mount point (/rootfs/data above) is owned by the runtime user: scratch has no
# shell to make it.
WORKDIR /src
# Dependencies in their own layer: the manifest and lock with a stub crate, so an edit to the
# source (or the README) rebuilds only linkdock, never the dependencies.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > benches/http.rs \
 && cargo build --release --locked --target x86_64-unknown-linux-musl \
 && rm -rf src
# Only what the binary is built from: rust-embed reads web/, config/ holds the defaults. The
# stub bench stays (the manifest names it; `cargo build` never compiles it).
COPY src src
COPY web web
COPY config config
# touch: the stub's build is newer than the copied files, which cargo would take as built.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --target x86_64-unknown-linux-musl

FROM scratch
ARG VERSION=0.1.0
ARG SOURCE_URL=https://github.com/linkdock/linkdock
# When and from which commit the image was built: `--build-arg CREATED=<RFC 3339>` and
# `--build-arg REVISION=<git commit>`.
ARG CREATED=unknown
ARG REVISION=unknown
LABEL org.opencontainers.image.title="linkdock" \
      org.opencontainers.image.description="Self-hosted link manager for small teams: short links, scoped API keys, a live API playground" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/linkdock /linkdock
COPY --from=build --chown=65532:65532 /rootfs/data /data
# Not root, and numeric: there is no /etc/passwd to look a name up in.
USER 65532:65532
# An empty root cannot resolve `localhost`: listen on an address, not a name.
ENV LINKDOCK_LISTEN=0.0.0.0:8080 LINKDOCK_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/linkdock", "healthcheck"]
ENTRYPOINT ["/linkdock"]
CMD ["serve"]
