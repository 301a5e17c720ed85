# A local stand-in for denoland/deno:2.9.6 (built by deploy/local/build.sh): the Debian minbase root (glibc, a shell)
# and the deno binary of this machine's npm package, on PATH like in the official image.
ARG BASE_IMAGE=localhost/debian:bookworm-minbase
FROM ${BASE_IMAGE}
COPY deno /usr/bin/deno
RUN deno --version
CMD ["deno", "repl"]
