#!/usr/bin/env bash
# Installs the project into .venv, creates the SQLite database, loads the demo newsroom and
# serves the API and the reference news site on http://127.0.0.1:${PORT:-8000}. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv "."

export CMS_INSTANCE_PATH="${CMS_INSTANCE_PATH:-$PWD/instance}"
export FLASK_APP=wsgi
export CMS_SERVE_SITE="${CMS_SERVE_SITE:-1}"  # the reference news site at /
port="${PORT:-8000}"
host="${HOST:-127.0.0.1}"

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
  data:      ${CMS_DATABASE_URL:-$CMS_INSTANCE_PATH/cms.sqlite3}
Stop with Ctrl-C.

MSG
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
exec .venv/bin/gunicorn -c gunicorn.conf.py --bind "$host:$port" wsgi:app
