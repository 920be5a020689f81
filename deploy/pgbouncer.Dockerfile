# PgBouncer from Debian's package (1.18), as scripts/cluster runs it: session mode between the
# API instances and PostgreSQL (see SCALING.md, "Pooler", for why not transaction mode).
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pgbouncer \
    && rm -rf /var/lib/apt/lists/*
COPY pgbouncer.ini /etc/pgbouncer/pgbouncer.ini
RUN printf '"postgres" ""\n' > /etc/pgbouncer/userlist.txt
USER postgres
EXPOSE 6432
CMD ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]
