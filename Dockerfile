# Minimal image: migrations, then the service. FABU_DATABASE_URL selects PostgreSQL,
# e.g. postgresql+psycopg://fabu@db:5432/fabu; without it the embedded SQLite is used.
FROM python:3.11-slim
WORKDIR /srv/fabu
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --system fabu && chown fabu /srv/fabu
USER fabu
ENV FABU_HOST=0.0.0.0 FABU_PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "fabu db upgrade && fabu seed && exec fabu serve"]
