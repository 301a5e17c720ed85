# A local stand-in for prom/prometheus (built by deploy/local/build.sh): the prometheus and promtool binaries of
# Debian's package (2.42) on the Debian minbase root, laid out like the official image (config in /etc/prometheus,
# data in /prometheus, user nobody). Only the binaries are taken: the web UI's assets are not, the HTTP API works.
ARG BASE_IMAGE=localhost/debian:bookworm-minbase
FROM ${BASE_IMAGE} AS fetch
RUN apt-get update \
  && cd /tmp && apt-get download prometheus \
  && dpkg -x prometheus_*.deb /tmp/prometheus \
  && /tmp/prometheus/usr/bin/prometheus --version

FROM ${BASE_IMAGE}
COPY --from=fetch /tmp/prometheus/usr/bin/prometheus /tmp/prometheus/usr/bin/promtool /bin/
RUN mkdir -p /etc/prometheus /prometheus \
  && printf 'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ["localhost:9090"]\n' > /etc/prometheus/prometheus.yml \
  && chown -R nobody:nogroup /etc/prometheus /prometheus
USER nobody
WORKDIR /prometheus
VOLUME ["/prometheus"]
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
