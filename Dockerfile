# One image for the web server and the Celery worker (docker-compose.yml runs both).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VAR_DIR=/var/lib/triangulate

RUN useradd --system --create-home --home-dir /home/triangulate triangulate \
    && mkdir -p /var/lib/triangulate \
    && chown triangulate /var/lib/triangulate

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY projects projects
COPY meetings meetings
COPY fieldnotes fieldnotes
COPY coding coding
RUN pip install .
COPY . .

# Static files are collected at build time; a throwaway key is enough for that step.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input \
    && chown -R triangulate /var/lib/triangulate

USER triangulate
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
