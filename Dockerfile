# One image for every app process: the API (`python -m api`), the worker (`python worker.py`),
# the notification relay (`python relay.py`), the migrations (`python -m db.migrate`) and the
# admin command (`python -m scripts.admin`).
# docker-compose.yml picks the process with `command:`. Build: `docker compose build`.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- build: a virtualenv with the pinned dependencies and the project
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when these two files change.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --constraint requirements.lock --requirement /tmp/requirements.txt

COPY . .
RUN pip install --constraint requirements.lock .

# ---- runtime
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XIGUA_API_HOST=0.0.0.0 \
    XIGUA_API_PORT=8000
RUN groupadd --system --gid 10001 xigua \
 && useradd --system --uid 10001 --gid xigua --home-dir /app --shell /usr/sbin/nologin xigua
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The sources too: `python worker.py` runs the file, and `python -m ...` finds the same modules.
COPY --chown=root:root . .
# Bytecode at build time: the image writes none (PYTHONDONTWRITEBYTECODE, sources owned by
# root), and the worker's sandbox imports workflows/order.py afresh for every order it starts.
RUN python -m compileall -q /app
USER xigua

EXPOSE 8000 9464
CMD ["python", "-m", "api"]
