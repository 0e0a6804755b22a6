# User-code image for the pelcro-sync Dagster code location (Dagster Helm chart, `user-deployments`).
# NOT built on the authoring machine (no Docker engine there): review before the first build.
# Build: docker build -t pelcro-sync:$(git rev-parse --short HEAD) .
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
# Same uv as the Makefile pins; the lock file is the single source of versions.
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first (a layer that changes only with the lock), then the project itself.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-install-project
COPY . .
# Editable (uv's default): `pelcro_sync.warehouse.migrate` finds migrations/ next to the code.
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev

FROM python:${PYTHON_VERSION}-slim-bookworm
RUN groupadd --system --gid 10001 pelcro \
 && useradd --system --uid 10001 --gid pelcro --home-dir /app --shell /usr/sbin/nologin pelcro
WORKDIR /app
COPY --from=build --chown=pelcro:pelcro /app /app
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home
RUN mkdir -p $DAGSTER_HOME && chown pelcro:pelcro $DAGSTER_HOME
USER 10001
EXPOSE 3030
# The chart overrides the args (it passes its own port and module); this default serves the
# code location for `docker run` and for a plain gRPC workspace entry.
ENTRYPOINT ["dagster", "api", "grpc"]
CMD ["-h", "0.0.0.0", "-p", "3030", "-m", "dagster_project.definitions"]
