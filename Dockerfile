# sse-bench worker image: multi-stage, small runtime, non-root.
#   docker build -t sse-bench .
# The build stage runs the same command as the README's "Distributed runs" section.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# .git is not sent to the build: pass the commit so results name the build,
#   docker build --build-arg SSE_BENCH_GIT_COMMIT=$(git rev-parse HEAD) -t sse-bench .
ARG SSE_BENCH_GIT_COMMIT
RUN cargo build --release --locked --bin sse-bench

FROM debian:bookworm-slim
# CA certificates for HTTPS to AWS; nothing else is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /work --create-home sse-bench
COPY --from=build /src/target/release/sse-bench /usr/local/bin/sse-bench
COPY scenarios /opt/sse-bench/scenarios
USER 10001
WORKDIR /work
ENTRYPOINT ["sse-bench"]
CMD ["--help"]
