# The facmon image: one image for every facmon service (ingest today; analytics and api later),
# each started with its own `facmon <subcommand>` by docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FACMON_STATE_DIR=/var/lib/facmon

WORKDIR /src
# Only what the package build needs, so the local .venv, var/ and caches stay out of the image.
COPY pyproject.toml README.md ./
COPY facility ./facility
COPY ingest ./ingest
COPY analytics ./analytics
COPY maintenance ./maintenance
COPY api ./api
COPY simulators ./simulators
COPY dashboards ./dashboards
COPY localservers ./localservers
COPY broker ./broker
COPY timeseries ./timeseries
COPY notifications ./notifications
COPY benchmarks ./benchmarks
COPY facmon ./facmon
# installed as share/facmon/mqtt-contract.md: the API serves it to integrators
COPY docs/mqtt-contract.md ./docs/mqtt-contract.md
RUN pip install . && rm -rf /src

# Run unprivileged. The state directory (spool, dead letters) is a volume; Docker copies this
# ownership into a new named volume, so the service can write there.
RUN useradd --system --uid 10001 --home-dir /var/lib/facmon facmon \
    && mkdir -p /var/lib/facmon \
    && chown facmon:facmon /var/lib/facmon
USER facmon
WORKDIR /var/lib/facmon
VOLUME ["/var/lib/facmon"]

CMD ["facmon", "--help"]
