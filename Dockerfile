# bayescale image: API, worker and command line, installed from the lock file.
FROM python:3.12-slim
# g++: PyTensor compiles the log-likelihood and diagnostics graphs to C (much faster than Python)
RUN apt-get update && apt-get install -y --no-install-recommends g++ curl \
    && rm -rf /var/lib/apt/lists/*
ENV UV_LINK_MODE=copy PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY models ./models
COPY service ./service
COPY cli ./cli
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH" BAYESCALE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["bayescale"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
