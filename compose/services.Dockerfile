# Redis and PostgreSQL from a local Debian base, for hosts that cannot pull the official images
# (no registry): compose/local-base.yml builds them with BASE=local/debian:bookworm. They behave
# like redis:7 and postgres:16 as docker-compose.yml uses them (command, POSTGRES_* variables,
# data in /data and /var/lib/postgresql/data, redis-cli and pg_isready for health checks).
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS redis
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
CMD ["redis-server", "--appendonly", "yes", "--protected-mode", "no"]

FROM ${BASE} AS postgres
RUN apt-get update && apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /run/postgresql
COPY compose/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
CMD ["postgres-entrypoint"]
