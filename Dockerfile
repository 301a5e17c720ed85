# tgpulse image: one bundled JavaScript file (every npm module inlined), PGlite's three runtime files, the built
# dashboard page and the deno binary on a glibc base. No node_modules, no sources, no build tools, no caches in the final stage.
#
#   DOCKER_BUILDKIT=1 docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t tgpulse:latest .
#   docker run --rm tgpulse:latest sync-history --help        # any subcommand; the default is `serve`
#
# The CA secret is optional: give it where registry traffic passes a TLS-intercepting proxy. Base images are build
# arguments; with no registry, build local stand-ins with deploy/local/build.sh and pass
#   --build-arg DENO_IMAGE=localhost/deno:2.9.6 --build-arg BASE_IMAGE=localhost/debian:bookworm-cc
# (No `# syntax=` line: it would pull a frontend image; the builder's own Dockerfile frontend suffices.)

# Build stage: a shell and deno 2.9.6 on PATH.
ARG DENO_IMAGE=denoland/deno:2.9.6
# Runtime stage: anything with glibc (the deno binary links against it); distroless cc has it and nothing else.
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${DENO_IMAGE} AS build
ENV DENO_DIR=/deno-dir NO_COLOR=1
WORKDIR /src
COPY deno.json deno.lock ./
COPY sandbox/deno.json ./sandbox/
COPY dashboard/deno.json ./dashboard/
# Exactly the locked dependencies. DENO_CERT trusts the host's CA bundle when it is given as the `ca` secret.
RUN --mount=type=secret,id=ca \
  if [ -s /run/secrets/ca ]; then export DENO_CERT=/run/secrets/ca; fi \
  && deno install --frozen
COPY migrations ./migrations
COPY sandbox ./sandbox
COPY src ./src
COPY dashboard ./dashboard
COPY tasks/dashboard.ts ./tasks/
# The CLI and the container healthcheck as two standalone bundles, PGlite's runtime files and the dashboard page
# (deno task dashboard) beside them, the deno binary, and an empty /data for the volume. The bundle is run once from a directory with no config and no
# node_modules, offline, so an image whose bundle cannot start is never produced. (`deno bundle` fetches its esbuild
# from npm on first use: the CA secret again.)
RUN --mount=type=secret,id=ca \
  set -eu; \
  if [ -s /run/secrets/ca ]; then export DENO_CERT=/run/secrets/ca; fi; \
  mkdir -p /out/pglite /out/data; \
  deno bundle --quiet --platform deno -o /out/tgpulse.js src/main.ts; \
  deno bundle --quiet --platform deno -o /out/healthcheck.js src/healthcheck.ts; \
  deno bundle --quiet --platform deno -o /out/DecodeWorker.js src/telegram/DecodeWorker.ts; \
  deno run -A tasks/dashboard.ts --out /out/dashboard; \
  set -- node_modules/.deno/@electric-sql+pglite@*/node_modules/@electric-sql/pglite/dist; \
  if [ $# -ne 1 ] || [ ! -f "$1/pglite.wasm" ]; then echo "expected one PGlite dist/ in node_modules: $*" >&2; exit 1; fi; \
  cp "$1/pglite.wasm" "$1/initdb.wasm" "$1/pglite.data" /out/pglite/; \
  cp "$(command -v deno)" /out/deno; \
  cd /out; \
  DENO_CERT= DENO_DIR=/tmp/check-deno-dir ./deno run -A --no-config --cached-only tgpulse.js --version; \
  rm -rf /tmp/check-deno-dir

FROM ${BASE_IMAGE}
COPY --from=build /out/deno /usr/local/bin/deno
COPY --from=build /out/tgpulse.js /out/healthcheck.js /out/DecodeWorker.js /app/
COPY --from=build /out/pglite /app/pglite
COPY --from=build /out/dashboard /app/dashboard
COPY --from=build --chown=65532:65532 /out/data /data
ENV TGPULSE_DATA_DIR=/data \
  TGPULSE_PGLITE_DIR=/app/pglite \
  TGPULSE_DASHBOARD_DIR=/app/dashboard \
  HEALTH_BIND=0.0.0.0:8091 \
  DENO_DIR=/tmp/deno \
  NO_COLOR=1
WORKDIR /app
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8091 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=6s --start-period=60s --retries=3 \
  CMD ["deno", "run", "--no-config", "--allow-net", "--allow-env", "/app/healthcheck.js"]
ENTRYPOINT ["deno", "run", "-A", "--no-config", "--cached-only", "--v8-flags=--max-old-space-size=256,--max-semi-space-size=4,--memory-saver-mode", "/app/tgpulse.js"]
CMD ["serve"]
