# One image for the server, the gateway and the simulator (docker-compose.yml
# picks the `dorm` subcommand). Raspberry Pis install the edge extra with pip
# instead; see docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libzbar0: pyzbar's native library (QR decoding in the simulated gates).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libzbar0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The whole project (minus .dockerignore): the package, and firmware-config/,
# which the gateway and simulator read relative to /app.
COPY . .
RUN pip install '.[all]' \
    && useradd --system --no-create-home --home-dir /app --shell /usr/sbin/nologin dorm \
    && install -d -o dorm -g dorm /var/lib/dorm

# /var/lib/dorm: the one writable place for durable state (the gateway's outbox);
# docker-compose.yml mounts a named volume there.

USER dorm
EXPOSE 8000
CMD ["dorm", "--help"]
