# linkdock in an empty image: one static (musl) binary, its data in the /data volume.
#   docker build -t linkdock .
#   docker run -p 8080:8080 -v linkdock-data:/data -e LINKDOCK_ADMIN_PASSWORD=... linkdock
# .ci/container builds the binary outside and stands in for the `build` stage with
# `podman build --build-context build=DIR`: keep the paths copied from `build` in step with it.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl
# The volume's mount point, to be owned by the runtime user: scratch has no shell to make it.
RUN mkdir -p /rootfs/data

FROM scratch
ARG VERSION=0.1.0
ARG SOURCE_URL=https://github.com/linkdock/linkdock
LABEL org.opencontainers.image.title="linkdock" \
      org.opencontainers.image.description="Self-hosted link manager for small teams: short links, scoped API keys, a live API playground" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
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
