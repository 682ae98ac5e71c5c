# bayescale image: the modelling library and the `bayescale` command, installed from the lock file.
FROM python:3.12-slim
ENV UV_LINK_MODE=copy PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY models ./models
COPY cli ./cli
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH"
ENTRYPOINT ["bayescale"]
CMD ["--help"]
