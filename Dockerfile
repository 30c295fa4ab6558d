FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY hub hub
COPY orgs orgs
COPY permissions permissions
COPY resolvers resolvers
COPY schema schema
COPY workers workers
COPY widget widget
COPY dashboard dashboard
COPY migrations migrations
RUN uv sync --frozen --no-dev && useradd --system hub
ENV PATH="/app/.venv/bin:$PATH"
USER hub
EXPOSE 8000
CMD ["coalition-hub", "serve", "--host", "0.0.0.0"]
