# syntax=docker/dockerfile:1
# erdv production image: slim, non-root, no dev dependencies; migrates, then serves.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --upgrade pip && pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ERDV_ENV=production \
    ERDV_DATA_DIR=/var/lib/erdv
RUN groupadd --system erdv && useradd --system --gid erdv --home-dir /app erdv \
    && mkdir -p /var/lib/erdv && chown erdv:erdv /var/lib/erdv
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The source tree (alembic.ini, migrations/, charter/, static/) sits beside the installed package.
COPY --chown=erdv:erdv alembic.ini ./
COPY --chown=erdv:erdv migrations ./migrations
COPY --chown=erdv:erdv charter ./charter
COPY --chown=erdv:erdv static ./static
COPY --chown=erdv:erdv app ./app
ENV PYTHONPATH=/app
USER erdv
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["sh", "-c", "erdv migrate && exec erdv serve --host 0.0.0.0 --port 8000 --workers ${ERDV_WORKERS:-2}"]
