# A local stand-in for the official postgres image (built by deploy/local/build.sh): Debian's postgresql-15 on the
# Debian minbase root. Like the official image it initialises an empty PGDATA (/var/lib/postgresql/data) from
# POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required) and POSTGRES_DB (default: the user), listens on
# every address with scram-sha-256 passwords, has pg_isready on PATH and stops fast on SIGINT.
ARG BASE_IMAGE=localhost/debian:bookworm-minbase
FROM ${BASE_IMAGE}
RUN mkdir -p /etc/postgresql-common \
  && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
  && apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
  && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
  && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
  && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
  && chmod 0700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
