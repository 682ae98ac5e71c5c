# bayescale image: API, worker and command line, installed as a user installs it: the locked
# runtime dependencies, then the project's wheel. The wheel stage copies exactly the packages
# pyproject.toml ships (tests/test_deployment.py fails if the two lists differ) and the test
# rebuilds this file set in a temp dir and runs it.
FROM python:3.12-slim AS wheel
RUN pip install --no-cache-dir uv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY models models
COPY service service
COPY cli cli
COPY plots plots
COPY trackers trackers
RUN uv build --wheel --out-dir /dist

FROM python:3.12-slim
# g++: PyTensor compiles the log-likelihood and diagnostics graphs to C (much faster than Python)
RUN apt-get update && apt-get install -y --no-install-recommends g++ curl \
    && rm -rf /var/lib/apt/lists/*
# UV_COMPILE_BYTECODE: installed modules ship as .pyc, so a CLI call does not compile ~500 modules
# from source each time (bayescale predict 2.2 s -> 0.9 s, BENCHMARKS.md "Instant CLI")
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv export --frozen --no-dev --no-emit-project -o requirements.txt \
    && uv venv /app/.venv \
    && uv pip install --no-cache --python /app/.venv/bin/python -r requirements.txt
COPY --from=wheel /dist /dist
RUN uv pip install --no-cache --python /app/.venv/bin/python --no-deps /dist/*.whl && rm -rf /dist
ENV PATH="/app/.venv/bin:$PATH" BAYESCALE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["bayescale"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
