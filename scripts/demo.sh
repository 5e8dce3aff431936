#!/usr/bin/env bash
# Installs the project into .venv, creates the SQLite database, loads the demo newsroom and
# serves the API and the reference news site on http://127.0.0.1:${PORT:-8000}, with a worker
# beside it (webhook deliveries, scheduled-publication events). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv "."

export CMS_INSTANCE_PATH="${CMS_INSTANCE_PATH:-$PWD/instance}"
export FLASK_APP=wsgi
export CMS_SERVE_SITE="${CMS_SERVE_SITE:-1}"  # the reference news site at /
# The demo's webhooks may go to receivers on this machine (never in production).
export CMS_WEBHOOK_ALLOW_PRIVATE="${CMS_WEBHOOK_ALLOW_PRIVATE:-1}"
port="${PORT:-8000}"
host="${HOST:-127.0.0.1}"
# Links in feeds, sitemaps, structured data and events point at the site served here.
export CMS_SITE_URL="${CMS_SITE_URL:-http://$host:$port}"

.venv/bin/flask db upgrade
.venv/bin/flask seed-demo

site_line=""
if [ "$CMS_SERVE_SITE" = "1" ]; then
    site_line="  news site: http://$host:$port/"$'\n'
fi
cat <<MSG

Newsroom content API on http://$host:$port
${site_line}  articles:  http://$host:$port/api/v1/articles
  API docs:  http://$host:$port/api/docs
  changes:   http://$host:$port/api/v1/changes
  data:      ${CMS_DATABASE_URL:-$CMS_INSTANCE_PATH/cms.sqlite3}
  worker:    log in $CMS_INSTANCE_PATH/worker.log
Stop with Ctrl-C.

MSG
.venv/bin/flask worker >>"$CMS_INSTANCE_PATH/worker.log" 2>&1 &
worker_pid=$!
trap 'kill -INT "$worker_pid" 2>/dev/null; wait "$worker_pid" 2>/dev/null' EXIT
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
.venv/bin/gunicorn -c gunicorn.conf.py --bind "$host:$port" wsgi:app
