FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
RUN pip install --no-cache-dir -e .
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
# Migrate on start: the schema always matches the code that serves it.
CMD ["sh", "-c", "demarche db upgrade && demarche demo --if-empty && demarche serve --workers ${WORKERS:-2}"]
