# motcua worker / API image. Build: docker build -t motcua .  (docker compose builds it too)

# ---- build: a virtualenv with the dependencies, then the project ----------------------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml alone, so code changes do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# Copy only the packages (no .venv, .state or .git: there is no .dockerignore to rely on).
COPY domain/ domain/
COPY infra/ infra/
COPY signatures/ signatures/
COPY services/ services/
COPY workflows/ workflows/
COPY activities/ activities/
COPY workers/ workers/
COPY store/ store/
COPY api/ api/
COPY motcua/ motcua/
RUN pip install --no-deps . \
    && python -c "import motcua, domain, infra, store, signatures, activities, workflows, services, api, workers"

# ---- runtime ---------------------------------------------------------------------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 motcua \
    && useradd --system --uid 10001 --gid motcua --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin motcua

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# Procedure catalogue and calendar data, read-only for the app user. Settings locate them relative
# to the source tree by default, which is site-packages once installed, so point at them here.
COPY procedures/ /app/procedures/
RUN mkdir -p /app/.state && chown motcua:motcua /app/.state
ENV MOTCUA_CATALOG_DIR=/app/procedures \
    MOTCUA_CALENDAR_OVERRIDES=/app/procedures/calendar/overrides.yaml \
    MOTCUA_STATE_DIR=/app/.state

USER 10001:10001
EXPOSE 8000
CMD ["motcua", "--help"]
