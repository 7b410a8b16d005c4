# One static binary in an empty image. Build: docker build -t linkdock .
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl

FROM scratch
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/linkdock /linkdock
# An empty root cannot resolve `localhost`: listen on an address, not a name.
ENV LINKDOCK_LISTEN=0.0.0.0:8080 LINKDOCK_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/linkdock"]
CMD ["serve"]
